//! YUV4MPEG2 (`.y4m`) clips, optionally gzip-compressed, replayed frame by frame.
//!
//! Only the Y plane is kept: the pipeline works on luma. Chroma is read past without storing.
//! Header tags used: `W` width, `H` height, `F` rate, `C` colour space (mono, 420*, 422, 444);
//! the others (`I`, `A`, `X...`) are ignored, as are `FRAME` parameters.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{FrameSource, SourceError};
use crate::frame::{PixelFormat, RawFrame, MAX_SIDE};

/// Longest header or `FRAME` line accepted (protects against reading a huge non-Y4M file as
/// one line).
const MAX_LINE: u64 = 4096;

/// Chroma subsampling of a clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chroma {
    Mono,
    C420,
    C422,
    C444,
}

impl Chroma {
    fn parse(tag: &str) -> Option<Chroma> {
        Some(match tag {
            "mono" => Chroma::Mono,
            "420jpeg" | "420paldv" | "420mpeg2" | "420" => Chroma::C420,
            "422" => Chroma::C422,
            "444" => Chroma::C444,
            _ => return None,
        })
    }

    /// Bytes of the two chroma planes of a `w x h` frame.
    fn chroma_bytes(self, w: usize, h: usize) -> usize {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match self {
            Chroma::Mono => 0,
            Chroma::C420 => 2 * cw * ch,
            Chroma::C422 => 2 * cw * h,
            Chroma::C444 => 2 * w * h,
        }
    }
}

/// The stream header of a clip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Y4mHeader {
    pub width: usize,
    pub height: usize,
    /// Frame rate from the `F` tag, when present and non-zero.
    pub fps: Option<f32>,
    pub chroma: Chroma,
}

impl Y4mHeader {
    /// Parses the header line (without its newline).
    pub fn parse(line: &str) -> Result<Y4mHeader, String> {
        let mut tags = line.split(' ').filter(|t| !t.is_empty());
        if tags.next() != Some("YUV4MPEG2") {
            return Err("it does not start with YUV4MPEG2".into());
        }
        let (mut width, mut height, mut fps, mut chroma) = (None, None, None, Chroma::C420);
        for tag in tags {
            // Tags are one ASCII letter and a value; split on a char boundary whatever the bytes.
            let key = tag.chars().next().unwrap_or(' ');
            let value = &tag[key.len_utf8()..];
            match key {
                'W' => width = Some(parse_side(value, "width")?),
                'H' => height = Some(parse_side(value, "height")?),
                'F' => fps = parse_rate(value)?,
                'C' => chroma = Chroma::parse(value).ok_or_else(|| format!("colour space C{value} is not supported (mono, 420, 422 or 444)"))?,
                _ => {}
            }
        }
        let width = width.ok_or("the header has no width (W)")?;
        let height = height.ok_or("the header has no height (H)")?;
        Ok(Y4mHeader { width, height, fps, chroma })
    }

    pub fn luma_bytes(&self) -> usize { self.width * self.height }
    pub fn chroma_bytes(&self) -> usize { self.chroma.chroma_bytes(self.width, self.height) }
}

fn parse_side(value: &str, what: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(v) if (1..=MAX_SIDE).contains(&v) => Ok(v),
        _ => Err(format!("{what} {value:?} is not a number from 1 to {MAX_SIDE}")),
    }
}

/// `F30:1` → 30.0; `F0:0` (unknown) → None.
fn parse_rate(value: &str) -> Result<Option<f32>, String> {
    let bad = || format!("frame rate F{value} is not of the form N:D");
    let (n, d) = value.split_once(':').ok_or_else(bad)?;
    let n: u32 = n.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    Ok(if n == 0 || d == 0 { None } else { Some(n as f32 / d as f32) })
}

/// A Y4M clip replayed from a file.
pub struct Y4mClip {
    path: PathBuf,
    looping: bool,
    reader: Box<dyn BufRead>,
    header: Y4mHeader,
    /// The Y plane of the current frame.
    luma: Vec<u8>,
    /// Frames read since the clip was (re)opened.
    frame_index: u64,
    line: Vec<u8>,
}

impl std::fmt::Debug for Y4mClip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Y4mClip").field("path", &self.path).field("header", &self.header).finish_non_exhaustive()
    }
}

impl Y4mClip {
    /// Opens `path` (plain or gzip, detected from its first bytes) and reads its header.
    pub fn open(path: &Path, looping: bool) -> Result<Y4mClip, SourceError> {
        let (reader, header) = open_stream(path)?;
        Ok(Y4mClip {
            path: path.to_path_buf(),
            looping,
            reader,
            header,
            luma: vec![0; header.luma_bytes()],
            frame_index: 0,
            line: Vec::with_capacity(64),
        })
    }

    pub fn header(&self) -> &Y4mHeader { &self.header }

    /// Reads the next frame into `self.luma`; false at a clean end of stream.
    fn read_frame(&mut self) -> Result<bool, SourceError> {
        let io_err = |path: &Path, source| SourceError::Io { path: path.to_path_buf(), source };
        self.line.clear();
        let n = read_line(&mut self.reader, &mut self.line).map_err(|e| io_err(&self.path, e))?;
        if n == 0 {
            return Ok(false);
        }
        let truncated = SourceError::Truncated { path: self.path.clone(), frame: self.frame_index };
        if self.line.last() != Some(&b'\n') {
            return Err(if b"FRAME".starts_with(&self.line) || self.line.starts_with(b"FRAME") {
                truncated
            } else {
                self.bad(format!("frame {} does not start with FRAME", self.frame_index))
            });
        }
        let tag = &self.line[..self.line.len() - 1];
        if !(tag == b"FRAME" || tag.starts_with(b"FRAME ")) {
            return Err(self.bad(format!("frame {} does not start with FRAME", self.frame_index)));
        }
        match self.reader.read_exact(&mut self.luma) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(truncated),
            Err(e) => return Err(io_err(&self.path, e)),
        }
        let chroma = self.header.chroma_bytes() as u64;
        let skipped = io::copy(&mut (&mut self.reader).take(chroma), &mut io::sink()).map_err(|e| io_err(&self.path, e))?;
        if skipped != chroma {
            return Err(truncated);
        }
        self.frame_index += 1;
        Ok(true)
    }

    fn bad(&self, reason: String) -> SourceError { SourceError::BadClip { path: self.path.clone(), reason } }

    fn rewind(&mut self) -> Result<(), SourceError> {
        let (reader, header) = open_stream(&self.path)?;
        if header != self.header {
            return Err(self.bad("the clip changed while it was replayed".into()));
        }
        self.reader = reader;
        self.frame_index = 0;
        Ok(())
    }
}

impl FrameSource for Y4mClip {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        let mut more = self.read_frame()?;
        if !more && self.looping && self.frame_index > 0 {
            self.rewind()?;
            more = self.read_frame()?;
        }
        if !more {
            return Ok(None);
        }
        let (w, h) = (self.header.width, self.header.height);
        Ok(Some(RawFrame { format: PixelFormat::Grey, width: w, height: h, stride: w, data: &self.luma }))
    }

    fn nominal_fps(&self) -> Option<f32> { self.header.fps }

    fn describe(&self) -> String {
        let h = &self.header;
        format!("clip {} ({}x{}{})", self.path.display(), h.width, h.height, h.fps.map(|f| format!(", {f} fps")).unwrap_or_default())
    }
}

fn open_stream(path: &Path) -> Result<(Box<dyn BufRead>, Y4mHeader), SourceError> {
    let io_err = |source| SourceError::Io { path: path.to_path_buf(), source };
    let mut file = BufReader::new(File::open(path).map_err(io_err)?);
    let gzip = file.fill_buf().map_err(io_err)?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead> =
        if gzip { Box::new(BufReader::with_capacity(64 * 1024, MultiGzDecoder::new(file))) } else { Box::new(file) };
    let mut line = Vec::new();
    read_line(&mut reader, &mut line).map_err(|e| match e.kind() {
        // A corrupt gzip stream surfaces as InvalidInput/InvalidData.
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            SourceError::BadClip { path: path.to_path_buf(), reason: format!("cannot decompress it: {e}") }
        }
        _ => io_err(e),
    })?;
    let bad = |reason: String| SourceError::BadClip { path: path.to_path_buf(), reason };
    if line.last() != Some(&b'\n') {
        return Err(bad(if line.is_empty() { "it is empty".into() } else { "the header line is unterminated or too long".into() }));
    }
    let text = std::str::from_utf8(&line[..line.len() - 1]).map_err(|_| bad("the header is not text".into()))?;
    let header = Y4mHeader::parse(text).map_err(bad)?;
    Ok((reader, header))
}

/// Reads up to and including `\n`, at most [`MAX_LINE`] bytes.
fn read_line(reader: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<usize> {
    reader.take(MAX_LINE).read_until(b'\n', out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tags() {
        let h = Y4mHeader::parse("YUV4MPEG2 W640 H480 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG").unwrap();
        assert_eq!((h.width, h.height, h.chroma), (640, 480, Chroma::C420));
        assert!((h.fps.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(h.chroma_bytes(), 2 * 320 * 240);
        let h = Y4mHeader::parse("YUV4MPEG2 W3 H3 Cmono F0:0").unwrap();
        assert_eq!((h.fps, h.chroma_bytes()), (None, 0));
        assert_eq!(Y4mHeader::parse("YUV4MPEG2 W3 H3 C422").unwrap().chroma_bytes(), 2 * 2 * 3);
        assert_eq!(Y4mHeader::parse("YUV4MPEG2 W3 H3 C444").unwrap().chroma_bytes(), 2 * 9);
        assert_eq!(Y4mHeader::parse("YUV4MPEG2 W3 H3").unwrap().chroma, Chroma::C420, "420 by default");
    }

    #[test]
    fn bad_headers() {
        for (line, why) in [
            ("YUV4MPEG W3 H3", "YUV4MPEG2"),
            ("YUV4MPEG2 H3", "width"),
            ("YUV4MPEG2 W3", "height"),
            ("YUV4MPEG2 W0 H3", "width"),
            ("YUV4MPEG2 W99999 H3", "width"),
            ("YUV4MPEG2 W3 H3 C411", "C411"),
            ("YUV4MPEG2 W3 H3 F30", "frame rate"),
            ("", "YUV4MPEG2"),
        ] {
            let err = Y4mHeader::parse(line).unwrap_err();
            assert!(err.contains(why), "{line:?}: {err}");
        }
    }
}
