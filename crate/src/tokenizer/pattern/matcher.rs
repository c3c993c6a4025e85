//! The backtracking machine that runs a compiled [`Pattern`].
//!
//! Alternatives are tried in order and the first that lets the rest of the pattern match wins
//! (leftmost-first, as Perl, Oniguruma and fancy-regex), quantifiers take as much (or, lazy, as
//! little) as lets the rest match. Backtracking explores every such choice, so a hostile pattern
//! like `(a+)+(?=b)` takes 2^n steps on n a's: every instruction executed costs one step from a
//! budget the caller gives, and running out is an error the caller reports, never a wrong match.
//! Choice points live on an explicit stack, so a long text cannot overflow the call stack; only
//! lookarounds and atomic groups recurse, as deep as they are nested in the pattern.

use super::{is_word_char, Inst, Look, Pattern};

/// The step budget ran out before the search finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfSteps;

enum Frame {
    /// Resume at this instruction and position.
    Alt(usize, usize),
    /// Give a register back its earlier value.
    Restore(usize, usize),
}

impl Pattern {
    /// The leftmost-first match starting at or after byte `from` (a char boundary of `text`), as a
    /// byte range. Lookbehind and `\b` see the text before `from`. Each instruction executed
    /// costs one of `steps`.
    pub fn find_at(&self, text: &str, from: usize, steps: &mut usize) -> Result<Option<(usize, usize)>, OutOfSteps> {
        let mut m = Machine { pattern: self, text, registers: vec![usize::MAX; self.registers], steps };
        let mut start = from;
        while start <= text.len() {
            if let Some(end) = m.run(0, start)? {
                return Ok(Some((start, end)));
            }
            start += text[start..].chars().next().map_or(1, char::len_utf8);
        }
        Ok(None)
    }
}

struct Machine<'a> {
    pattern: &'a Pattern,
    text: &'a str,
    registers: Vec<usize>,
    steps: &'a mut usize,
}

impl Machine<'_> {
    fn char_at(&self, pos: usize) -> Option<char> {
        self.text[pos..].chars().next()
    }

    fn char_before(&self, pos: usize) -> Option<char> {
        self.text[..pos].chars().next_back()
    }

    fn look(&self, look: Look, pos: usize) -> bool {
        let bytes = self.text.as_bytes();
        match look {
            Look::TextStart => pos == 0,
            Look::TextEnd => pos == bytes.len(),
            Look::TextEndBeforeFinalNewline => pos == bytes.len() || (pos + 1 == bytes.len() && bytes[pos] == b'\n'),
            // Oniguruma: not after a `\n` that ends the text (`^` in "a\n" matches only at 0).
            Look::LineStart => pos == 0 || (pos < bytes.len() && bytes[pos - 1] == b'\n'),
            Look::LineEnd => pos == bytes.len() || bytes[pos] == b'\n',
            Look::WordBoundary | Look::NotWordBoundary => {
                let before = self.char_before(pos).is_some_and(is_word_char);
                let after = self.char_at(pos).is_some_and(is_word_char);
                (before != after) == (look == Look::WordBoundary)
            }
        }
    }

    /// Run from instruction `pc` at byte `pos` until a `Match` (its position) or every choice fails.
    fn run(&mut self, mut pc: usize, mut pos: usize) -> Result<Option<usize>, OutOfSteps> {
        let mut stack: Vec<Frame> = vec![];
        loop {
            if *self.steps == 0 {
                return Err(OutOfSteps);
            }
            *self.steps -= 1;
            let ok = match self.pattern.prog[pc] {
                Inst::Char(want) => self.consume(&mut pos, |c| c == want),
                Inst::CharFold(want) => self.consume(&mut pos, |c| c == want || super::fold(c) == want),
                Inst::Class(i) => {
                    let class = &self.pattern.classes[i];
                    self.consume(&mut pos, |c| class.matches(c))
                }
                Inst::Any => self.consume(&mut pos, |_| true),
                Inst::AnyButNewline => self.consume(&mut pos, |c| c != '\n'),
                Inst::Split(first, second) => {
                    stack.push(Frame::Alt(second, pos));
                    pc = first;
                    continue;
                }
                Inst::Jump(to) => {
                    pc = to;
                    continue;
                }
                Inst::Look(look) => self.look(look, pos),
                Inst::Around { ahead, negate, width, next } => {
                    let holds = if ahead {
                        self.run(pc + 1, pos)?.is_some()
                    } else {
                        // A fixed-width body: step back `width` chars and match up to here.
                        let mut begin = Some(pos);
                        for _ in 0..width {
                            begin = begin.and_then(|b| self.char_before(b).map(|c| b - c.len_utf8()));
                        }
                        match begin {
                            Some(b) => self.run(pc + 1, b)? == Some(pos),
                            None => false,
                        }
                    };
                    if holds != negate {
                        pc = next;
                        continue;
                    }
                    false
                }
                Inst::Atomic { next } => match self.run(pc + 1, pos)? {
                    Some(end) => {
                        pos = end;
                        pc = next;
                        continue;
                    }
                    None => false,
                },
                Inst::Mark(r) => {
                    stack.push(Frame::Restore(r, self.registers[r]));
                    self.registers[r] = pos;
                    true
                }
                Inst::Progress(r) => self.registers[r] != pos,
                Inst::Match => return Ok(Some(pos)),
            };
            if ok {
                pc += 1;
                continue;
            }
            // Backtrack to the latest choice, undoing register marks on the way.
            loop {
                match stack.pop() {
                    None => return Ok(None),
                    Some(Frame::Restore(r, old)) => self.registers[r] = old,
                    Some(Frame::Alt(to, at)) => {
                        pc = to;
                        pos = at;
                        break;
                    }
                }
            }
        }
    }

    /// Step over the char at `pos` if it passes `test`.
    fn consume(&self, pos: &mut usize, test: impl Fn(char) -> bool) -> bool {
        match self.char_at(*pos) {
            Some(c) if test(c) => {
                *pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }
}
