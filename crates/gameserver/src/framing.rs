//! Bounded line reading shared by the client and the mock server.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::protocol::MAX_LINE_BYTES;

/// Outcome of [`read_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// `buf` holds one complete line, including its `\n`.
    Line,
    /// The peer closed the stream before sending anything.
    Eof,
    /// The peer closed the stream in the middle of a line (`buf` holds the
    /// partial line).
    Truncated,
    /// The line is longer than [`MAX_LINE_BYTES`]; at most
    /// `MAX_LINE_BYTES + 1` bytes were consumed.
    TooLong,
}

/// Reads one `\n`-terminated line into `buf` (cleared first), never
/// buffering more than `MAX_LINE_BYTES + 1` bytes of it.
pub(crate) async fn read_line<R>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<LineRead>
where
    R: AsyncBufRead + Unpin,
{
    buf.clear();
    // Content of at most MAX_LINE_BYTES plus the terminator.
    let limit = MAX_LINE_BYTES as u64 + 1;
    let n = reader.take(limit).read_until(b'\n', buf).await?;
    Ok(if n == 0 {
        LineRead::Eof
    } else if buf.last() == Some(&b'\n') {
        LineRead::Line
    } else if buf.len() > MAX_LINE_BYTES {
        LineRead::TooLong
    } else {
        LineRead::Truncated
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8]) -> Vec<(LineRead, Vec<u8>)> {
        let mut reader = tokio::io::BufReader::new(input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            let r = read_line(&mut reader, &mut buf).await.unwrap();
            out.push((r, buf.clone()));
            if r != LineRead::Line {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines() {
        let out = read_all(b"a\nbc\n").await;
        assert_eq!(
            out,
            vec![
                (LineRead::Line, b"a\n".to_vec()),
                (LineRead::Line, b"bc\n".to_vec()),
                (LineRead::Eof, vec![]),
            ]
        );
        let out = read_all(b"a\npartial").await;
        assert_eq!(out[1], (LineRead::Truncated, b"partial".to_vec()));
    }

    #[tokio::test]
    async fn bounds_line_length() {
        let mut input = vec![b'x'; MAX_LINE_BYTES];
        input.push(b'\n');
        let out = read_all(&input).await;
        assert_eq!(out[0].0, LineRead::Line);
        assert_eq!(out[0].1.len(), MAX_LINE_BYTES + 1);

        let mut input = vec![b'x'; MAX_LINE_BYTES + 1];
        input.push(b'\n');
        let out = read_all(&input).await;
        assert_eq!(out[0].0, LineRead::TooLong);
        assert_eq!(out[0].1.len(), MAX_LINE_BYTES + 1);
    }
}
