//! A second opinion on unsure digits: a larger model re-reads only the digits the first model
//! is unsure of, and those digits' scores become the average of the two models' probabilities.
//!
//! Why: a model sixteen times the shipped one's size reads about 0.3 % more camera pages
//! exactly, but at a fifth of the frame rate (model/README.md, "Tried and not adopted"). Its
//! gain is on digits the small model hesitates over, a few in a hundred, so asking it about
//! those alone costs little time. The manifest's reject rule applies to the combined scores:
//! the pipeline that pairs the models chooses it for the pair.

use super::{ClassScores, Classifier, ClassifyError, NUM_CLASSES};
use crate::preprocess::DigitTensor;

/// The first classifier, and a second one for the digits it is unsure of.
pub struct SecondOpinion {
    first: Box<dyn Classifier>,
    second: Box<dyn Classifier>,
    /// A digit whose top probability from `first` is below this is re-read by `second`.
    below: f32,
    /// Reused from frame to frame: which digits are unsure, copies of them, and the second
    /// model's scores for them.
    unsure: Vec<usize>,
    unsure_digits: Vec<DigitTensor>,
    second_scores: Vec<ClassScores>,
}

impl SecondOpinion {
    pub fn new(first: Box<dyn Classifier>, second: Box<dyn Classifier>, below: f32) -> Self {
        SecondOpinion { first, second, below, unsure: Vec::new(), unsure_digits: Vec::new(), second_scores: Vec::new() }
    }
}

impl Classifier for SecondOpinion {
    /// The first model's back end (`cpu` or `npu`; the second runs on the same one), which is
    /// what the screen, the web status and the NPU fallback check go by.
    fn name(&self) -> &str { self.first.name() }

    fn classify(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
        self.first.classify(digits, out)?;
        self.unsure.clear();
        self.unsure.extend(out.iter().enumerate().filter(|(_, s)| s.best().1 < self.below).map(|(i, _)| i));
        if self.unsure.is_empty() {
            return Ok(());
        }
        self.unsure_digits.clear();
        self.unsure_digits.extend(self.unsure.iter().map(|&i| digits[i].clone()));
        self.second.classify(&self.unsure_digits, &mut self.second_scores)?;
        if self.second_scores.len() != self.unsure.len() {
            return Err(ClassifyError::Inference(format!(
                "the second-opinion classifier returned {} results for {} digits",
                self.second_scores.len(),
                self.unsure.len()
            )));
        }
        for (&i, second) in self.unsure.iter().zip(&self.second_scores) {
            let first = &out[i].0;
            out[i] = ClassScores(std::array::from_fn::<_, NUM_CLASSES, _>(|c| (first[c] + second.0[c]) / 2.0));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Scores every digit from its first pixel: `p` for the class in the second pixel, the
    /// rest spread evenly. Counts the digits it was asked about.
    struct ByPixel {
        asked: Rc<Cell<usize>>,
        shift: usize,
    }

    impl Classifier for ByPixel {
        fn name(&self) -> &str { "mock" }
        fn classify(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
            out.clear();
            self.asked.set(self.asked.get() + digits.len());
            for d in digits {
                let p = d.0[0] as f32 / 100.0;
                let class = (d.0[1] as usize + self.shift) % NUM_CLASSES;
                let rest = (1.0 - p) / (NUM_CLASSES - 1) as f32;
                out.push(ClassScores(std::array::from_fn(|c| if c == class { p } else { rest })));
            }
            Ok(())
        }
    }

    fn digit(percent: u8, class: u8) -> DigitTensor {
        let mut d = DigitTensor::default();
        d.0[0] = percent;
        d.0[1] = class;
        d
    }

    #[test]
    fn only_unsure_digits_are_re_read_and_their_scores_averaged() {
        let (asked_first, asked_second) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let first = ByPixel { asked: asked_first.clone(), shift: 0 };
        // The second model reads each digit as the next class up, always at p 0.9.
        struct Sure(ByPixel);
        impl Classifier for Sure {
            fn name(&self) -> &str { "big" }
            fn classify(&mut self, digits: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
                let sure: Vec<DigitTensor> = digits.iter().map(|d| digit(90, d.0[1])).collect();
                self.0.classify(&sure, out)
            }
        }
        let second = Sure(ByPixel { asked: asked_second.clone(), shift: 1 });
        let mut cascade = SecondOpinion::new(Box::new(first), Box::new(second), 0.8);
        assert_eq!(cascade.name(), "mock", "named by the first model's back end");

        let digits = [digit(95, 3), digit(50, 7), digit(80, 1), digit(30, 9)];
        let mut out = Vec::new();
        cascade.classify(&digits, &mut out).unwrap();
        assert_eq!(asked_first.get(), 4);
        assert_eq!(asked_second.get(), 2, "only the digits under p 0.8 go to the second model");
        assert_eq!(out.len(), 4);
        // Sure digits keep the first model's scores.
        assert_eq!(out[0].best(), (3, 0.95));
        assert_eq!(out[2].best(), (1, 0.8));
        // Unsure ones average: 7 at (0.5 + 0.01) / 2, 8 at (0.05 + 0.9) / 2.
        let (class, p) = out[1].best();
        assert_eq!(class, 8);
        assert!((p - 0.475).abs() < 1e-6, "{p}");
        assert!((out[1].0[7] - 0.255).abs() < 1e-6, "{:?}", out[1]);
        assert!((out[3].0.iter().sum::<f32>() - 1.0).abs() < 1e-5, "averages stay probabilities");

        // A frame with no unsure digit never asks the second model.
        cascade.classify(&digits[..1], &mut out).unwrap();
        assert_eq!(asked_second.get(), 2);
        assert_eq!(out.len(), 1);
        cascade.classify(&[], &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_second_model_that_answers_for_the_wrong_number_of_digits_is_an_error() {
        struct Short;
        impl Classifier for Short {
            fn name(&self) -> &str { "short" }
            fn classify(&mut self, _: &[DigitTensor], out: &mut Vec<ClassScores>) -> Result<(), ClassifyError> {
                out.clear();
                Ok(())
            }
        }
        let first = ByPixel { asked: Rc::new(Cell::new(0)), shift: 0 };
        let mut cascade = SecondOpinion::new(Box::new(first), Box::new(Short), 0.8);
        let err = cascade.classify(&[digit(10, 2)], &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("returned 0 results for 1 digits"), "{err}");
    }
}
