//! Text in the largest size that fits a region.
//!
//! embedded-graphics' mono fonts stop at 10x20, far too small to read a number at arm's
//! length, so glyphs are drawn through `Scaled`, which turns every font pixel into a square.

use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::text::{Baseline, Text};

/// Tallest characters tried (10x20 enlarged 8 times); beyond that glyphs are mostly blocky
/// blank space.
pub const MAX_CHAR_HEIGHT: u32 = 160;

/// A draw target that enlarges every pixel to a `scale` x `scale` square placed at `origin`.
pub struct Scaled<'a, D> {
    parent: &'a mut D,
    origin: Point,
    scale: u32,
}

impl<'a, D: DrawTarget> Scaled<'a, D> {
    pub fn new(parent: &'a mut D, origin: Point, scale: u32) -> Self {
        Self { parent, origin, scale: scale.max(1) }
    }
}

impl<D: DrawTarget> Dimensions for Scaled<'_, D> {
    fn bounding_box(&self) -> Rectangle {
        let parent = self.parent.bounding_box();
        let top_left = (parent.top_left - self.origin) / self.scale as i32;
        Rectangle::new(top_left, parent.size / self.scale)
    }
}

impl<D: DrawTarget> DrawTarget for Scaled<'_, D> {
    type Color = D::Color;
    type Error = D::Error;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        let square = Size::new(self.scale, self.scale);
        for Pixel(p, color) in pixels {
            let corner = self.origin + p * self.scale as i32;
            self.parent.fill_solid(&Rectangle::new(corner, square), color)?;
        }
        Ok(())
    }
}

/// A font and how much it is enlarged.
#[derive(Clone, Copy)]
pub struct TextFit {
    pub font: &'static MonoFont<'static>,
    pub scale: u32,
}

// MonoFont has neither Debug nor PartialEq; the fonts used differ in glyph size.
impl std::fmt::Debug for TextFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextFit({}x{} font x{})", self.font.character_size.width, self.font.character_size.height, self.scale)
    }
}

impl PartialEq for TextFit {
    fn eq(&self, other: &Self) -> bool {
        (self.font.character_size, self.scale) == (other.font.character_size, other.scale)
    }
}

impl TextFit {
    pub fn char_size(&self) -> Size { self.font.character_size * self.scale }

    /// Pixel size of `lines` set in this font, one under the other.
    pub fn block_size(&self, lines: &[&str]) -> Size {
        let longest = lines.iter().map(|l| l.chars().count() as u32).max().unwrap_or(0);
        let c = self.char_size();
        Size::new(longest.saturating_mul(c.width), (lines.len() as u32).saturating_mul(c.height))
    }
}

/// Candidate sizes no taller than `max_char_height`, tallest first, in steps of 10 pixels:
/// the 10x20 font enlarged where it gives the height (it has the finer glyphs), the 6x10
/// font enlarged for the heights in between (30, 50, ...) and as the smallest.
fn candidates(max_char_height: u32) -> impl Iterator<Item = TextFit> {
    let tallest = max_char_height.clamp(10, MAX_CHAR_HEIGHT) / 10;
    (1..=tallest).rev().map(|tens| match tens % 2 {
        0 => TextFit { font: &FONT_10X20, scale: tens / 2 },
        _ => TextFit { font: &FONT_6X10, scale: tens },
    })
}

const SMALLEST: TextFit = TextFit { font: &FONT_6X10, scale: 1 };

/// The largest size in which `lines` fit `area` (characters at most `max_char_height`
/// tall); the smallest font if nothing fits (the caller's clipping then cuts the overflow).
pub fn fit_lines(lines: &[&str], area: Size, max_char_height: u32) -> TextFit {
    candidates(max_char_height)
        .find(|fit| {
            let block = fit.block_size(lines);
            block.width <= area.width && block.height <= area.height
        })
        .unwrap_or(SMALLEST)
}

/// Word-wraps `text` at the largest size where the wrapped block fits `area`.
/// Sizes that would cut a word in two are passed over while a smaller one keeps words whole.
pub fn fit_wrapped(text: &str, area: Size, max_char_height: u32) -> (TextFit, Vec<String>) {
    let longest_word = text.split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0);
    for words_whole in [true, false] {
        for fit in candidates(max_char_height) {
            let per_line = (area.width / fit.char_size().width.max(1)) as usize;
            if per_line == 0 || (words_whole && per_line < longest_word) {
                continue;
            }
            let lines = wrap_words(text, per_line);
            if (lines.len() as u32).saturating_mul(fit.char_size().height) <= area.height {
                return (fit, lines);
            }
        }
    }
    let per_line = (area.width / SMALLEST.char_size().width).max(1);
    (SMALLEST, wrap_words(text, per_line as usize))
}

/// Greedy word wrap to at most `width` characters a line; overlong words are cut.
/// Explicit newlines are kept.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            while word.len() > width {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                lines.push(word.drain(..width).collect());
            }
            let needed = if line.is_empty() { word.len() } else { line.chars().count() + 1 + word.len() };
            if needed > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.extend(word);
        }
        lines.push(line);
    }
    lines
}

/// How a text block sits in its area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Centre,
    Left,
    Right,
}

/// Draws `lines` in `fit`, the block centred vertically in `area`, each line aligned
/// horizontally; anything outside `area` is clipped.
pub fn draw_lines<D>(target: &mut D, lines: &[&str], area: Rectangle, fit: TextFit, color: Rgb565, align: Align) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb565>,
{
    let mut clipped = target.clipped(&area);
    let char_size = fit.char_size();
    let block = fit.block_size(lines);
    let top = area.top_left.y + area.size.height.saturating_sub(block.height) as i32 / 2;
    let style = MonoTextStyle::new(fit.font, color);
    // Characters past the area's width are never visible; dropping them also keeps the
    // pixel arithmetic small for absurdly long input.
    let visible_chars = (area.size.width / char_size.width.max(1)) as usize + 1;
    let visible_lines = (area.size.height / char_size.height.max(1)) as usize + 1;
    for (i, line) in lines.iter().enumerate().take(visible_lines) {
        let line = truncate_chars(line, visible_chars);
        let line_width = (line.chars().count() as u32).saturating_mul(char_size.width);
        let spare = area.size.width.saturating_sub(line_width) as i32;
        let x = area.top_left.x
            + match align {
                Align::Left => 0,
                Align::Centre => spare / 2,
                Align::Right => spare,
            };
        let y = top + i as i32 * char_size.height as i32;
        let mut scaled = Scaled::new(&mut clipped, Point::new(x, y), fit.scale);
        Text::with_baseline(line, Point::zero(), style, Baseline::Top).draw(&mut scaled)?;
    }
    Ok(())
}

fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// `text` cut to `max_chars`, ending in '~' when something was cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    if max_chars > 0 {
        out.push('~');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::canvas::Canvas565;

    #[test]
    fn fits_the_largest_scale_that_fits() {
        let fit = fit_lines(&["317"], Size::new(160, 68), MAX_CHAR_HEIGHT);
        assert_eq!((fit.font.character_size, fit.scale), (Size::new(10, 20), 3));
        // 70 fits 76 only with the 6x10 font enlarged 7 times.
        let fit = fit_lines(&["317"], Size::new(168, 76), MAX_CHAR_HEIGHT);
        assert_eq!((fit.font.character_size, fit.scale), (Size::new(6, 10), 7));
        // Two rows of 40 would not fit 76; the 6x10 font tripled (30 a row) does.
        let two_rows = fit_lines(&["12", "34"], Size::new(168, 76), MAX_CHAR_HEIGHT);
        assert_eq!(two_rows.char_size(), Size::new(18, 30));
        assert_eq!(fit_lines(&["1"], Size::new(500, 500), 40).char_size().height, 40);
        let nothing_fits = fit_lines(&["12345678901234567890"], Size::new(20, 5), MAX_CHAR_HEIGHT);
        assert_eq!(nothing_fits, SMALLEST);
    }

    #[test]
    fn wraps_words_and_cuts_long_ones() {
        assert_eq!(wrap_words("point me at a number", 11), ["point me at", "a number"]);
        assert_eq!(wrap_words("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap_words("a\nb", 10), ["a", "b"]);
        assert_eq!(wrap_words("", 0), [""]);
        let (fit, lines) = fit_wrapped("point me at a number", Size::new(110, 170), MAX_CHAR_HEIGHT);
        assert!(fit.block_size(&lines.iter().map(String::as_str).collect::<Vec<_>>()).height <= 170);
        // 40-pixel type (5 a line) would cut "number"; 30-pixel type (6 a line) keeps it whole.
        assert_eq!(fit.char_size(), Size::new(18, 30));
        assert_eq!(lines, ["point", "me at", "a", "number"]);
        let (_, cut) = fit_wrapped("unbreakable", Size::new(30, 200), MAX_CHAR_HEIGHT);
        assert_eq!(cut[0], "unb");
    }

    #[test]
    fn scaled_text_lands_inside_its_area_only() {
        let mut canvas = Canvas565::new(Size::new(100, 60));
        let area = Rectangle::new(Point::new(10, 10), Size::new(60, 40));
        let fit = fit_lines(&["8"], area.size, MAX_CHAR_HEIGHT);
        assert_eq!(fit.scale, 2);
        draw_lines(&mut canvas, &["8"], area, fit, Rgb565::WHITE, Align::Centre).unwrap();
        let lit: Vec<Point> = canvas.bounds().points().filter(|&p| canvas.pixel(p) == Some(Rgb565::WHITE)).collect();
        assert!(lit.len() > 50);
        assert!(lit.iter().all(|&p| area.contains(p)));
    }

    #[test]
    fn truncates_with_a_marker() {
        assert_eq!(truncate("NPU missing", 5), "NPU ~");
        assert_eq!(truncate("ok", 5), "ok");
        assert_eq!(truncate("abc", 0), "");
    }
}
