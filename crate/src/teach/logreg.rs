//! Multinomial logistic regression with L2 on fixed features: the "tiny classifier" of the transfer
//! demo, fitted on frozen sentence embeddings.
//!
//! `p(y = c | x) = softmax(W x + b)_c` with `W: [C][D]`, `b: [C]`; it minimises the mean
//! cross-entropy plus `l2 / 2 · ‖W‖²` (the bias is not penalised). The objective is convex, so the
//! fit starts from zeros and ends at the same minimum however it gets there: accelerated gradient
//! descent (Nesterov) with the step `1 / L` from a bound on the curvature. Features are
//! standardised with the training set's mean and spread first (stored in the model, applied to
//! every later input), so dimensions of very different sizes are penalised alike.

use crate::error::{Error, Result};

/// Bounds on the work a fit may take.
pub const MAX_ROWS: usize = 100_000;
pub const MAX_DIMS: usize = 65_536;
pub const MAX_CLASSES: usize = 1_000;
pub const MAX_ITERATIONS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Strength of the penalty on the weights.
    pub l2: f64,
    pub iterations: usize,
    /// Standardise each feature with the training mean and standard deviation.
    pub standardize: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { l2: 0.1, iterations: 1000, standardize: true }
    }
}

/// A fitted classifier.
#[derive(Debug, Clone)]
pub struct LogisticRegression {
    pub classes: usize,
    pub dims: usize,
    /// `[C][D]`, on standardised features.
    pub weights: Vec<f64>,
    /// `[C]`
    pub bias: Vec<f64>,
    /// `[D]` subtracted from, and `[D]` dividing, every input before the weights see it.
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// Rows of features `[N][D]` (flat) with a class per row.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a> {
    pub features: &'a [f64],
    pub dims: usize,
    pub labels: &'a [usize],
}

impl Dataset<'_> {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }
    fn row(&self, i: usize) -> &[f64] {
        &self.features[i * self.dims..(i + 1) * self.dims]
    }
    fn check(&self, classes: usize) -> Result<()> {
        if self.dims == 0 || self.dims > MAX_DIMS {
            return Err(Error::input(format!("{} feature dimensions is outside 1 to {MAX_DIMS}", self.dims), "Pass feature vectors of a sensible size"));
        }
        if self.rows() == 0 || self.rows() > MAX_ROWS {
            return Err(Error::input(format!("{} examples is outside 1 to {MAX_ROWS}", self.rows()), "Pass at least one labelled example"));
        }
        if self.features.len() != self.rows() * self.dims {
            return Err(Error::input(
                format!(
                    "{} feature values were given, but {} labels of {} dimensions each need {}",
                    self.features.len(),
                    self.rows(),
                    self.dims,
                    self.rows() * self.dims
                ),
                "Pass one feature vector per label, all of the same length",
            ));
        }
        if let Some(bad) = self.labels.iter().find(|&&y| y >= classes) {
            return Err(Error::input(format!("label {bad} is not below the number of classes, {classes}"), "Number the classes from 0"));
        }
        if let Some(i) = self.features.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(format!("feature value {i} is not a finite number"), "Pass finite features"));
        }
        Ok(())
    }
}

/// Loss and gradients of the objective at some weights (on the features as given).
#[derive(Debug, Clone)]
pub struct Objective {
    /// Mean cross-entropy plus the penalty.
    pub loss: f64,
    /// `[C][D]`
    pub grad_weights: Vec<f64>,
    /// `[C]`
    pub grad_bias: Vec<f64>,
}

impl LogisticRegression {
    /// Zero weights on unscaled features.
    pub fn zeros(classes: usize, dims: usize) -> Self {
        LogisticRegression { classes, dims, weights: vec![0.0; classes * dims], bias: vec![0.0; classes], mean: vec![0.0; dims], scale: vec![1.0; dims] }
    }

    /// Fit on `data` with `classes` classes.
    pub fn fit(data: Dataset<'_>, classes: usize, options: &FitOptions) -> Result<Self> {
        if classes < 2 || classes > MAX_CLASSES {
            return Err(Error::input(format!("{classes} classes is outside 2 to {MAX_CLASSES}"), "Use at least two classes"));
        }
        if !options.l2.is_finite() || options.l2 < 0.0 {
            return Err(Error::input(format!("l2 {} is not a number of at least 0", options.l2), "Use an l2 such as 0.1"));
        }
        if options.iterations > MAX_ITERATIONS {
            return Err(Error::input(format!("{} iterations is more than {MAX_ITERATIONS}", options.iterations), "Use e.g. 1000 iterations"));
        }
        data.check(classes)?;
        let (n, d) = (data.rows(), data.dims);
        let mut model = LogisticRegression::zeros(classes, d);
        if options.standardize {
            for j in 0..d {
                let mean = (0..n).map(|i| data.row(i)[j]).sum::<f64>() / n as f64;
                let var = (0..n).map(|i| (data.row(i)[j] - mean).powi(2)).sum::<f64>() / n as f64;
                model.mean[j] = mean;
                // A constant feature stays 0 after centring; dividing by 1 keeps it so.
                model.scale[j] = if var > 1e-24 { var.sqrt() } else { 1.0 };
            }
        }
        let x: Vec<f64> = (0..n).flat_map(|i| model.standardized(data.row(i))).collect();
        let scaled = Dataset { features: &x, dims: d, labels: data.labels };
        // Curvature bound: the softmax Hessian is at most ½ I per class, so L ≤ ½ λmax(XᵀX/n + 1) + l2
        // (the 1 for the bias column).
        let lipschitz = 0.5 * (gram_largest_eigenvalue(&x, n, d) / n as f64 + 1.0) + options.l2;
        let step = 1.0 / lipschitz;
        let params = classes * (d + 1);
        let mut current = vec![0.0; params];
        let mut previous = current.clone();
        for k in 0..options.iterations {
            // Nesterov: look ahead along the last move, step from there.
            let momentum = k as f64 / (k as f64 + 3.0);
            let look: Vec<f64> = current.iter().zip(&previous).map(|(c, p)| c + momentum * (c - p)).collect();
            model.set_flat(&look);
            let obj = model.objective(scaled, options.l2);
            previous = current;
            current = look.iter().zip(obj.grad_weights.iter().chain(&obj.grad_bias)).map(|(w, g)| w - step * g).collect();
        }
        model.set_flat(&current);
        Ok(model)
    }

    fn set_flat(&mut self, flat: &[f64]) {
        let cd = self.classes * self.dims;
        self.weights.copy_from_slice(&flat[..cd]);
        self.bias.copy_from_slice(&flat[cd..]);
    }

    /// `(x - mean) / scale`
    pub fn standardized(&self, x: &[f64]) -> Vec<f64> {
        x.iter().zip(&self.mean).zip(&self.scale).map(|((v, m), s)| (v - m) / s).collect()
    }

    /// Loss and gradients on features already standardised (as `fit` sees them).
    pub fn objective(&self, data: Dataset<'_>, l2: f64) -> Objective {
        let (c, d, n) = (self.classes, self.dims, data.rows());
        let mut grad_weights = vec![0.0; c * d];
        let mut grad_bias = vec![0.0; c];
        let mut loss = 0.0;
        for i in 0..n {
            let x = data.row(i);
            let probs = self.probabilities_raw(x);
            loss -= crate::math::ln(probs[data.labels[i]].max(f64::MIN_POSITIVE));
            for k in 0..c {
                let g = (probs[k] - (k == data.labels[i]) as u8 as f64) / n as f64;
                grad_bias[k] += g;
                for (gw, xv) in grad_weights[k * d..(k + 1) * d].iter_mut().zip(x) {
                    *gw += g * xv;
                }
            }
        }
        loss /= n as f64;
        loss += 0.5 * l2 * self.weights.iter().map(|w| w * w).sum::<f64>();
        for (g, w) in grad_weights.iter_mut().zip(&self.weights) {
            *g += l2 * w;
        }
        Objective { loss, grad_weights, grad_bias }
    }

    /// Class probabilities of a standardised input.
    fn probabilities_raw(&self, x: &[f64]) -> Vec<f64> {
        let d = self.dims;
        let logits: Vec<f64> = (0..self.classes).map(|k| self.bias[k] + self.weights[k * d..(k + 1) * d].iter().zip(x).map(|(w, v)| w * v).sum::<f64>()).collect();
        let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| crate::math::exp(l - max)).collect();
        let sum: f64 = e.iter().sum();
        e.into_iter().map(|v| v / sum).collect()
    }

    /// Class probabilities of a raw input `[D]`.
    pub fn probabilities(&self, x: &[f64]) -> Vec<f64> {
        self.probabilities_raw(&self.standardized(x))
    }

    /// The likeliest class of a raw input (the first on a tie).
    pub fn predict(&self, x: &[f64]) -> usize {
        let p = self.probabilities(x);
        (0..p.len()).fold(0, |best, k| if p[k] > p[best] { k } else { best })
    }

    /// Share of `data` (raw features) classified correctly.
    pub fn accuracy(&self, data: Dataset<'_>) -> f64 {
        let n = data.rows();
        if n == 0 {
            return 0.0;
        }
        (0..n).filter(|&i| self.predict(data.row(i)) == data.labels[i]).count() as f64 / n as f64
    }
}

/// Largest eigenvalue of `XᵀX` for `X: [n][d]`, by power iteration (an upper estimate is fine).
fn gram_largest_eigenvalue(x: &[f64], n: usize, d: usize) -> f64 {
    let mut v = vec![1.0 / (d as f64).sqrt(); d];
    let mut lambda = 0.0;
    for _ in 0..100 {
        let xv: Vec<f64> = (0..n).map(|i| x[i * d..(i + 1) * d].iter().zip(&v).map(|(a, b)| a * b).sum()).collect();
        let mut next = vec![0.0; d];
        for i in 0..n {
            for (nj, xj) in next.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *nj += xj * xv[i];
            }
        }
        let norm = next.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        v = next.into_iter().map(|a| a / norm).collect();
        if (norm - lambda).abs() <= 1e-9 * norm {
            lambda = norm;
            break;
        }
        lambda = norm;
    }
    // Power iteration approaches from below; a margin keeps the step safe.
    lambda * 1.05
}

/// A fit on one set and its score on another.
#[derive(Debug, Clone)]
pub struct HeldOut {
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    /// `[N_test]` the predicted class of each held-out row.
    pub test_predictions: Vec<usize>,
    /// `[N_test][C]`
    pub test_probabilities: Vec<f64>,
    pub model: LogisticRegression,
}

/// Fit on `train`, then classify `test` (same dimensions).
pub fn fit_and_test(train: Dataset<'_>, test: Dataset<'_>, classes: usize, options: &FitOptions) -> Result<HeldOut> {
    if test.dims != train.dims {
        return Err(Error::input(format!("held-out features have {} dimensions, training features {}", test.dims, train.dims), "Embed both sets with the same model"));
    }
    let model = LogisticRegression::fit(train, classes, options)?;
    if test.rows() > 0 {
        test.check(classes)?;
    }
    let test_predictions: Vec<usize> = (0..test.rows()).map(|i| model.predict(test.row(i))).collect();
    let test_probabilities = (0..test.rows()).flat_map(|i| model.probabilities(test.row(i))).collect();
    Ok(HeldOut { train_accuracy: model.accuracy(train), test_accuracy: model.accuracy(test), test_predictions, test_probabilities, model })
}
