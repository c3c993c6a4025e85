//! The teaching models of `crate::teach`: the RNN, LSTM and attention model of `<glassbox-rnn>`
//! (gradients by backpropagation through time against finite differences; what each can learn),
//! and the logistic regression of `<glassbox-transfer>`.

use glassbox::rng::Rng;
use glassbox::teach::logreg::{Dataset, FitOptions, LogisticRegression};
use glassbox::teach::rnn::*;

/// Every number of every parameter tensor against a central difference of the loss.
fn check_gradients(cell: Cell) {
    let (symbols, hidden, length) = (3, 5, 6);
    let mut rng = Rng::new(11);
    let mut model = Model::new(cell, symbols, hidden, length, 1.3, &mut rng);
    // Move off the initial values (zero biases make some terms vanish by symmetry).
    for p in &mut model.params {
        for v in &mut p.data {
            *v += 0.3 * rng.normal() as f64;
        }
    }
    let batch = Batch::sample(&mut rng, symbols, length, 4);
    let analytic = model.gradients(&batch);
    assert_eq!(analytic.grads.len(), model.params.len());
    let eps = 1e-5;
    for (pi, grad) in analytic.grads.iter().enumerate() {
        let name = model.params[pi].name;
        assert_eq!(grad.len(), model.params[pi].data.len(), "{cell:?} {name}: gradient size");
        let mut worst: f64 = 0.0;
        for i in 0..grad.len() {
            let keep = model.params[pi].data[i];
            model.params[pi].data[i] = keep + eps;
            let up = model.loss(&batch);
            model.params[pi].data[i] = keep - eps;
            let down = model.loss(&batch);
            model.params[pi].data[i] = keep;
            let numeric = (up - down) / (2.0 * eps);
            let err = (numeric - grad[i]).abs() / (1e-6 + numeric.abs().max(grad[i].abs()));
            assert!(err < 1e-5 || (numeric - grad[i]).abs() < 1e-9, "{cell:?} {name}[{i}]: backprop {} vs finite difference {numeric}", grad[i]);
            worst = worst.max((numeric - grad[i]).abs());
        }
        assert!(grad.iter().any(|g| g.abs() > 1e-8), "{cell:?} {name}: every gradient is zero, so the check proved nothing");
        println!("{cell:?} {name} {:?}: largest difference {worst:.1e}", model.params[pi].shape);
    }
}

#[test]
fn rnn_gradients_match_finite_differences() {
    check_gradients(Cell::Rnn);
}

#[test]
fn lstm_gradients_match_finite_differences() {
    check_gradients(Cell::Lstm);
}

#[test]
fn attention_gradients_match_finite_differences() {
    check_gradients(Cell::Attention);
}
