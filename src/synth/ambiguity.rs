//! Which held-out digits a person could not read for sure.
//!
//! MNIST and USPS test sets hold some digits that look like another class or like nothing
//! (USPS's human error rate is about 2.5 %). Scenes are meant to be read ~100 % by a person,
//! so those digits are left out of scenes. "Ambiguous" is decided independently of the
//! project's model: by the digit's nearest neighbours in the *training* set of the same data
//! set. A digit whose label gets fewer than [`MIN_VOTES`] of [`NEIGHBOURS`] neighbour votes is
//! ambiguous. The result is stored in `ambiguous_digits.txt` (computing it takes a minute);
//! the ignored test below recomputes it.

use std::collections::HashSet;

use super::data::DigitSet;

pub const NEIGHBOURS: usize = 10;
pub const MIN_VOTES: usize = 3;

/// The stored list: `mnist INDEX` / `usps INDEX` lines, `#` comments.
pub const AMBIGUOUS_LIST: &str = include_str!("ambiguous_digits.txt");

/// Indices listed for `set_name` ("mnist" or "usps") in [`AMBIGUOUS_LIST`].
pub fn listed_ambiguous(set_name: &str) -> HashSet<usize> {
    AMBIGUOUS_LIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| *name == set_name)
        .filter_map(|(_, index)| index.trim().parse().ok())
        .collect()
}

/// Feature vector of a digit: 2x2 average pooling for 28x28 (MNIST), raw for smaller sides.
fn features(set: &DigitSet, i: usize) -> Vec<f32> {
    let d = set.get(i);
    if d.side < 28 {
        return d.pixels.iter().map(|&p| p as f32).collect();
    }
    let half = d.side / 2;
    let mut out = vec![0.0f32; half * half];
    for y in 0..half * 2 {
        for x in 0..half * 2 {
            out[(y / 2) * half + x / 2] += d.pixels[y * d.side + x] as f32 * 0.25;
        }
    }
    out
}

/// Indices of `test` digits whose label gets fewer than `min_votes` of the `k` nearest
/// `train` digits' votes.
pub fn find_ambiguous(test: &DigitSet, train: &DigitSet, k: usize, min_votes: usize, threads: usize) -> Vec<usize> {
    label_votes(test, train, k, threads).iter().enumerate().filter(|&(_, &v)| v < min_votes).map(|(i, _)| i).collect()
}

/// For each `test` digit, how many of its `k` nearest `train` digits (Euclidean distance on
/// pooled pixels) share its label. Uses `threads` threads.
pub fn label_votes(test: &DigitSet, train: &DigitSet, k: usize, threads: usize) -> Vec<usize> {
    let train_features: Vec<Vec<f32>> = (0..train.len()).map(|i| features(train, i)).collect();
    let train_labels = train.labels();
    let chunk = test.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..test.len())
            .step_by(chunk)
            .map(|start| {
                let train_features = &train_features;
                s.spawn(move || {
                    (start..(start + chunk).min(test.len()))
                        .map(|i| {
                            let f = features(test, i);
                            // The k smallest distances, kept sorted.
                            let mut best: Vec<(f32, u8)> = Vec::with_capacity(k + 1);
                            for (tf, &label) in train_features.iter().zip(train_labels) {
                                let d: f32 = f.iter().zip(tf).map(|(a, b)| (a - b) * (a - b)).sum();
                                if best.len() < k || d < best[best.len() - 1].0 {
                                    let at = best.partition_point(|&(bd, _)| bd <= d);
                                    best.insert(at, (d, label));
                                    best.truncate(k);
                                }
                            }
                            best.iter().filter(|&&(_, l)| l == test.labels()[i]).count()
                        })
                        .collect::<Vec<usize>>()
                })
            })
            .collect();
        // Chunks come back in order, so votes line up with test indices.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::data::{load_mnist_test, load_mnist_train, load_usps_test, load_usps_train, resolve_data_dir};

    #[test]
    fn list_parses_and_is_small() {
        let (mnist, usps) = (listed_ambiguous("mnist"), listed_ambiguous("usps"));
        assert!(!mnist.is_empty() && !usps.is_empty());
        assert!(mnist.len() < 300 && mnist.iter().all(|&i| i < 10_000), "{}", mnist.len());
        assert!(usps.len() < 150 && usps.iter().all(|&i| i < 2007), "{}", usps.len());
    }

    /// Recomputes the stored list (slow: run with `--release -- --ignored`). Set
    /// `DIGITD_PRINT_AMBIGUOUS=1` to print a fresh list to paste into `ambiguous_digits.txt`.
    #[test]
    #[ignore]
    fn stored_ambiguous_list_is_current() {
        let dir = resolve_data_dir(None);
        let mnist_test = load_mnist_test(&dir).unwrap();
        let mnist_train = load_mnist_train(&dir).unwrap();
        let usps_test = load_usps_test(&dir).unwrap();
        let usps_train = load_usps_train(&dir).unwrap();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mnist = find_ambiguous(&mnist_test, &mnist_train, NEIGHBOURS, MIN_VOTES, threads);
        let usps = find_ambiguous(&usps_test, &usps_train, NEIGHBOURS, MIN_VOTES, threads);
        if std::env::var_os("DIGITD_PRINT_AMBIGUOUS").is_some() {
            for i in &mnist {
                println!("mnist {i}");
            }
            for i in &usps {
                println!("usps {i}");
            }
        }
        let sorted = |set: HashSet<usize>| {
            let mut v: Vec<usize> = set.into_iter().collect();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(listed_ambiguous("mnist")), mnist);
        assert_eq!(sorted(listed_ambiguous("usps")), usps);
    }
}
