//! Stage 3: connected components of the ink map (8-connectivity), by run-length labelling.
//!
//! Each row is cut into runs of ink pixels; a run is joined (union-find) to every run of the
//! previous row that it touches, diagonals included. Runs longer than a limit are dropped
//! first: no digit stroke is that long, but a ruled line is, and a digit touching one would
//! otherwise be lost with it. Work and memory scale with the number of
//! runs, not pixels, and the runs double as the pixel lists used later to paint each digit's
//! crop.

use super::BoundingBox;

/// A horizontal run of ink pixels `[x0, x1)` on row `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub y: u32,
    pub x0: u32,
    pub x1: u32,
}

/// A set of ink pixels with its statistics: a connected component, or a group of them.
/// Box coordinates are `[x0, x1) x [y0, y1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    /// Number of ink pixels.
    pub area: u32,
    /// Sum of ink strengths.
    pub ink_sum: u64,
    /// Strongest ink strength.
    pub peak: u8,
}

impl Blob {
    /// The pixels `[x0, x1)` of row `y`, with their strengths from `ink` (row-major, `width`).
    fn of_row(y: u32, x0: u32, x1: u32, ink: &[u8], width: usize) -> Self {
        let pixels = &ink[y as usize * width..][x0 as usize..x1 as usize];
        Blob {
            x0,
            y0: y,
            x1,
            y1: y + 1,
            area: x1 - x0,
            ink_sum: pixels.iter().map(|&v| v as u64).sum(),
            peak: pixels.iter().copied().max().unwrap_or(0),
        }
    }

    pub fn width(&self) -> u32 { self.x1 - self.x0 }
    pub fn height(&self) -> u32 { self.y1 - self.y0 }

    pub fn bbox(&self) -> BoundingBox {
        BoundingBox { x: self.x0, y: self.y0, w: self.width(), h: self.height() }
    }

    /// Adds `other`'s pixels to this blob.
    pub fn absorb(&mut self, other: &Blob) {
        *self = self.union(other);
    }

    /// The blob made of both sets of pixels.
    pub fn union(&self, other: &Blob) -> Blob {
        Blob {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
            area: self.area + other.area,
            ink_sum: self.ink_sum + other.ink_sum,
            peak: self.peak.max(other.peak),
        }
    }
}

/// Most parts [`Labeller::split_columns`] makes of one component.
pub const MAX_SPLIT: usize = 8;

/// Run-length labeller; its buffers are reused from frame to frame.
#[derive(Debug, Default)]
pub struct Labeller {
    runs: Vec<Run>,
    /// Union-find parent per run; a root is the first run of its component in raster order.
    parent: Vec<u32>,
    /// Component index per run.
    run_component: Vec<u32>,
    components: Vec<Blob>,
    split: SplitScratch,
}

/// Scratch of [`Labeller::split_columns`].
#[derive(Debug, Default)]
struct SplitScratch {
    /// The split component's runs (indices into `runs`), in row order.
    members: Vec<u32>,
    /// Per member: the part that took it, or none yet.
    claimed: Vec<u32>,
    /// Members inside the current span (indices into `members`), their union-find parents
    /// and per-root areas.
    local: Vec<u32>,
    parent: Vec<u32>,
    area: Vec<u32>,
}

impl Labeller {
    pub fn new() -> Self { Self::default() }

    /// Labels the non-zero pixels of `ink` (row-major, `width x height`, values = strengths),
    /// leaving out runs longer than `max_run` pixels.
    pub fn label(&mut self, ink: &[u8], width: usize, height: usize, max_run: usize) {
        self.runs.clear();
        self.parent.clear();
        self.run_component.clear();
        self.components.clear();
        if width == 0 || ink.len() < width * height {
            return;
        }
        let mut previous = 0..0;
        for (y, row) in ink.chunks_exact(width).take(height).enumerate() {
            let first = self.runs.len();
            for_each_run(row, |x0, x1| {
                if x1 - x0 <= max_run {
                    self.parent.push(self.runs.len() as u32);
                    self.runs.push(Run { y: y as u32, x0: x0 as u32, x1: x1 as u32 });
                }
            });
            self.join_with_previous_row(previous.clone(), first);
            previous = first..self.runs.len();
        }
        self.collect_components(ink, width);
    }

    /// All runs, sorted by row then column.
    pub fn runs(&self) -> &[Run] { &self.runs }

    /// Component index of each run (parallel to [`Self::runs`]).
    pub fn run_components(&self) -> &[u32] { &self.run_component }

    /// Components in raster order of their first pixel.
    pub fn components(&self) -> &[Blob] { &self.components }

    /// Splits `component` into parts, one per column span `[x0, x1)` (sorted, disjoint; see
    /// `tails`). A part is the largest 8-connected set of the component's ink inside its span:
    /// line pieces that only the cut-away columns joined to the digit are left out. The first
    /// part keeps the component's index; the other parts, then one empty component holding
    /// the left-out runs, are appended. `parts` receives the parts' indices. Runs are not cut:
    /// a run reaching out of its part's span keeps its pixels there, so whoever paints runs
    /// clips them to the part's box.
    pub fn split_columns(&mut self, component: u32, spans: &[(u32, u32)], ink: &[u8], width: usize, parts: &mut Vec<u32>) {
        parts.clear();
        let spans = &spans[..spans.len().min(MAX_SPLIT)];
        if spans.is_empty() || component as usize >= self.components.len() {
            return;
        }
        const UNCLAIMED: u32 = u32::MAX;
        let empty = Blob { x0: 0, y0: 0, x1: 0, y1: 0, area: 0, ink_sum: 0, peak: 0 };
        for k in 0..spans.len() {
            parts.push(if k == 0 { component } else { self.components.len() as u32 });
            if k > 0 {
                self.components.push(empty);
            }
        }
        let left_out = self.components.len() as u32;
        self.components.push(empty);
        let split = &mut self.split;
        split.members.clear();
        split.members.extend((0..self.runs.len() as u32).filter(|&i| self.run_component[i as usize] == component));
        split.claimed.clear();
        split.claimed.resize(split.members.len(), UNCLAIMED);
        for (&(x0, x1), &part) in spans.iter().zip(parts.iter()) {
            let clip = |run: &Run| (run.y, run.x0.max(x0), run.x1.min(x1));
            // The unclaimed member runs inside the span (indices into `members`), row by row.
            split.local.clear();
            split.local.extend((0..split.members.len() as u32).filter(|&m| {
                let (_, a, b) = clip(&self.runs[split.members[m as usize] as usize]);
                a < b && split.claimed[m as usize] == UNCLAIMED
            }));
            split.parent.clear();
            split.parent.extend(0..split.local.len() as u32);
            let mut previous = 0..0;
            let mut i = 0;
            while i < split.local.len() {
                let row = self.runs[split.members[split.local[i] as usize] as usize].y;
                let end = i + split.local[i..].iter().take_while(|&&m| self.runs[split.members[m as usize] as usize].y == row).count();
                for c in i..end {
                    let (_, cx0, cx1) = clip(&self.runs[split.members[split.local[c] as usize] as usize]);
                    for p in previous.clone() {
                        let (py, px0, px1) = clip(&self.runs[split.members[split.local[p] as usize] as usize]);
                        if py + 1 == row && px1 >= cx0 && px0 <= cx1 {
                            unite(&mut split.parent, p as u32, c as u32);
                        }
                    }
                }
                previous = i..end;
                i = end;
            }
            // The largest set by area.
            split.area.clear();
            split.area.resize(split.local.len(), 0);
            for l in 0..split.local.len() {
                let (_, a, b) = clip(&self.runs[split.members[split.local[l] as usize] as usize]);
                let root = find_root(&mut split.parent, l as u32) as usize;
                split.area[root] += b - a;
            }
            let Some(best) = (0..split.local.len()).max_by_key(|&l| (split.area[l], std::cmp::Reverse(l))) else { continue };
            let mut blob: Option<Blob> = None;
            for l in 0..split.local.len() {
                if find_root(&mut split.parent, l as u32) as usize != best {
                    continue;
                }
                let m = split.local[l] as usize;
                split.claimed[m] = part;
                let (y, a, b) = clip(&self.runs[split.members[m] as usize]);
                let piece = Blob::of_row(y, a, b, ink, width);
                blob = Some(blob.map_or(piece, |sum| sum.union(&piece)));
            }
            self.components[part as usize] = blob.unwrap_or(empty);
        }
        for (&r, &claim) in split.members.iter().zip(&split.claimed) {
            self.run_component[r as usize] = if claim == UNCLAIMED { left_out } else { claim };
        }
    }

    /// Unions each run from `first` on (the current row) with the runs of `previous` it
    /// touches. Both lists are sorted by `x0`, so one forward sweep suffices.
    fn join_with_previous_row(&mut self, previous: std::ops::Range<usize>, first: usize) {
        let mut j = previous.start;
        for i in first..self.runs.len() {
            let cur = self.runs[i];
            // 8-connected ⇔ the previous run [a, b) and [cur.x0 - 1, cur.x1 + 1) overlap.
            while j < previous.end && self.runs[j].x1 < cur.x0 {
                j += 1;
            }
            let mut k = j;
            while k < previous.end && self.runs[k].x0 <= cur.x1 {
                self.union(k as u32, i as u32);
                k += 1;
            }
        }
    }

    fn find(&mut self, i: u32) -> u32 { find_root(&mut self.parent, i) }

    fn union(&mut self, a: u32, b: u32) { unite(&mut self.parent, a, b) }

    fn collect_components(&mut self, ink: &[u8], width: usize) {
        for i in 0..self.runs.len() {
            let run = self.runs[i];
            let piece = Blob::of_row(run.y, run.x0, run.x1, ink, width);
            let root = self.find(i as u32) as usize;
            if root == i {
                self.run_component.push(self.components.len() as u32);
                self.components.push(piece);
            } else {
                let c = self.run_component[root];
                self.run_component.push(c);
                self.components[c as usize].absorb(&piece);
            }
        }
    }
}

/// Union-find root of `i`, halving the path on the way.
fn find_root(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let grandparent = parent[parent[i as usize] as usize];
        parent[i as usize] = grandparent;
        i = grandparent;
    }
    i
}

/// Joins the sets of `a` and `b`. The smaller index stays root, so a root is always its set's
/// first element.
fn unite(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find_root(parent, a), find_root(parent, b));
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

/// Calls `f(x0, x1)` for each run of non-zero bytes `[x0, x1)` in `row`. Blank stretches are
/// skipped eight bytes at a time.
fn for_each_run(row: &[u8], mut f: impl FnMut(usize, usize)) {
    let n = row.len();
    let mut x = 0;
    while x < n {
        while let Some(chunk) = row.get(x..x + 8) {
            if u64::from_ne_bytes(chunk.try_into().unwrap()) != 0 {
                break;
            }
            x += 8;
        }
        while x < n && row[x] == 0 {
            x += 1;
        }
        if x == n {
            break;
        }
        let start = x;
        while x < n && row[x] != 0 {
            x += 1;
        }
        f(start, x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses an ASCII picture: '#' = ink (strength 200), anything else blank.
    fn picture(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let w = rows[0].len();
        let data = rows.iter().flat_map(|r| r.bytes().map(|b| if b == b'#' { 200 } else { 0 })).collect();
        (data, w, rows.len())
    }

    fn label(rows: &[&str]) -> Labeller {
        let (ink, w, h) = picture(rows);
        let mut l = Labeller::new();
        l.label(&ink, w, h, usize::MAX);
        l
    }

    #[test]
    fn runs_are_found_across_chunk_boundaries() {
        let mut row = vec![0u8; 40];
        row[7..9].fill(1);
        row[16] = 1;
        row[30..40].fill(3);
        let mut runs = Vec::new();
        for_each_run(&row, |a, b| runs.push((a, b)));
        assert_eq!(runs, vec![(7, 9), (16, 17), (30, 40)]);
    }

    #[test]
    fn diagonal_neighbours_join_but_gaps_do_not() {
        let l = label(&[
            "#.....##..",
            ".#...#....",
            "..#.......",
            "......#..#",
            ".......#.#",
        ]);
        let c = l.components();
        assert_eq!(c.len(), 4, "{c:?}");
        assert_eq!((c[0].x0, c[0].y0, c[0].x1, c[0].y1, c[0].area), (0, 0, 3, 3, 3));
        assert_eq!((c[1].x0, c[1].y0, c[1].x1, c[1].y1, c[1].area), (5, 0, 8, 2, 3));
        assert_eq!((c[2].x0, c[2].y0, c[2].area), (6, 3, 2));
        assert_eq!((c[3].x0, c[3].y0, c[3].area), (9, 3, 2));
    }

    #[test]
    fn u_shape_merges_two_branches_and_keeps_stats() {
        let l = label(&[
            "#...#..##",
            "#...#..##",
            "#####....",
        ]);
        assert_eq!(l.components().len(), 2);
        let u = l.components()[0];
        assert_eq!(u.bbox(), BoundingBox { x: 0, y: 0, w: 5, h: 3 });
        assert_eq!(u.area, 9);
        assert_eq!(u.ink_sum, 9 * 200);
        assert_eq!(u.peak, 200);
        // Every run of the U points at component 0, the square's at 1.
        let labels: Vec<u32> = l.run_components().to_vec();
        assert_eq!(labels, vec![0, 0, 1, 0, 0, 1, 0]);
    }

    #[test]
    fn spiral_needs_transitive_unions() {
        let l = label(&[
            "#######",
            "#.....#",
            "#.###.#",
            "#.#.#.#",
            "#.#...#",
            "#.#####",
        ]);
        assert_eq!(l.components().len(), 1);
        assert_eq!(l.components()[0].area, 7 + 2 + 5 + 4 + 3 + 6);
    }

    #[test]
    fn empty_and_short_inputs() {
        let mut l = Labeller::new();
        l.label(&[], 0, 0, 10);
        assert!(l.components().is_empty());
        l.label(&[1, 2, 3], 4, 4, 10);
        assert!(l.components().is_empty());
        l.label(&[0, 5, 5, 0], 4, 1, 10);
        assert_eq!(l.components().len(), 1);
    }

    #[test]
    fn long_runs_are_cut_out_and_split_what_they_joined() {
        // A "1" standing on a ruled line: without the line it is one piece above it.
        let (ink, w, h) = picture(&[
            "....#.......",
            "....#.......",
            "....#.......",
            "############",
            "....#.......",
        ]);
        let mut l = Labeller::new();
        l.label(&ink, w, h, usize::MAX);
        assert_eq!(l.components().len(), 1);
        l.label(&ink, w, h, 8);
        let c = l.components();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].y0, c[0].y1, c[0].area), (0, 3, 3));
        assert_eq!((c[1].y0, c[1].y1, c[1].area), (4, 5, 1));
    }
}
