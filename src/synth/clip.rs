//! YUV4MPEG2 clip writer, monochrome (`C mono`): a text header, then per frame `FRAME\n` and
//! the luma bytes. Gzipped when the path ends in `.gz`, so sample clips stay small in git.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::frame::GreyImage;

/// Where the bytes go: plain, or through gzip (which must be finished explicitly so that a
/// failed trailer write is an error rather than a silently truncated file).
enum Sink {
    Plain(Box<dyn Write>),
    Gzip(GzEncoder<Box<dyn Write>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

/// Writes frames of one fixed size to a `.y4m` or `.y4m.gz` file.
pub struct Y4mWriter {
    out: Sink,
    width: usize,
    height: usize,
    frames: usize,
}

impl Y4mWriter {
    /// Creates the file and writes the header. `fps` is a ratio (numerator, denominator).
    pub fn create(path: &Path, width: usize, height: usize, fps: (u32, u32)) -> io::Result<Self> {
        let file: Box<dyn Write> = Box::new(BufWriter::new(File::create(path)?));
        let gzip = path.extension().is_some_and(|e| e == "gz");
        Self::new(file, gzip, width, height, fps)
    }

    /// Writes the header to any sink, gzipped or not.
    pub fn new(out: Box<dyn Write>, gzip: bool, width: usize, height: usize, fps: (u32, u32)) -> io::Result<Self> {
        // GzEncoder's default header has no name and mtime 0: same frames, same bytes.
        let mut out = if gzip { Sink::Gzip(GzEncoder::new(out, Compression::best())) } else { Sink::Plain(out) };
        if width == 0 || height == 0 || fps.0 == 0 || fps.1 == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad clip format {width}x{height} at {}:{} fps", fps.0, fps.1)));
        }
        writeln!(out, "YUV4MPEG2 W{width} H{height} F{}:{} Ip A1:1 Cmono", fps.0, fps.1)?;
        Ok(Y4mWriter { out, width, height, frames: 0 })
    }

    /// Appends one frame; it must have the clip's size.
    pub fn write_frame(&mut self, frame: GreyImage) -> io::Result<()> {
        if frame.width() != self.width || frame.height() != self.height {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("frame is {}x{}, clip is {}x{}", frame.width(), frame.height(), self.width, self.height),
            ));
        }
        self.out.write_all(b"FRAME\n")?;
        for y in 0..self.height {
            self.out.write_all(frame.row(y))?;
        }
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> usize { self.frames }

    /// Completes the file (gzip trailer included) and returns the number of frames.
    pub fn finish(self) -> io::Result<usize> {
        match self.out {
            Sink::Plain(mut w) => w.flush()?,
            Sink::Gzip(w) => w.finish()?.flush()?,
        }
        Ok(self.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OwnedGrey;
    use std::io::Read;

    #[test]
    fn writes_mono_y4m_gzipped_and_plain() {
        let tmp = tempfile::tempdir().unwrap();
        let mut frame = OwnedGrey::new(4, 2, 9);
        frame.data[5] = 200;
        for name in ["a.y4m", "a.y4m.gz"] {
            let path = tmp.path().join(name);
            let mut w = Y4mWriter::create(&path, 4, 2, (5, 1)).unwrap();
            w.write_frame(frame.view()).unwrap();
            w.write_frame(frame.view()).unwrap();
            assert!(w.write_frame(OwnedGrey::new(2, 2, 0).view()).is_err());
            assert_eq!(w.finish().unwrap(), 2);
            let raw = std::fs::read(&path).unwrap();
            let bytes = if name.ends_with(".gz") {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
                out
            } else {
                raw
            };
            let header = b"YUV4MPEG2 W4 H2 F5:1 Ip A1:1 Cmono\n";
            assert_eq!(&bytes[..header.len()], header);
            let body = &bytes[header.len()..];
            assert_eq!(body.len(), 2 * (6 + 8));
            assert_eq!(&body[..6], b"FRAME\n");
            assert_eq!(&body[6..14], &frame.data[..]);
        }
    }
}
