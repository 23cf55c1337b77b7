//! A request body made of shared pieces, written without being joined.
//!
//! A multipart delivery is the event's image and masks between a few lines of part
//! headers. Joining them into one buffer would copy every image once per attempt and
//! hold that copy while the request is in flight; as a list of [`Bytes`] the image is
//! shared with the event, and the connection writes the pieces with one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// Body pieces, in order.
#[derive(Debug, Clone, Default)]
pub struct Chunks {
    pieces: VecDeque<Bytes>,
    remaining: usize,
}

impl Chunks {
    /// Appends a piece (empty ones are skipped).
    pub fn push(&mut self, piece: impl Into<Bytes>) {
        let piece = piece.into();
        if !piece.is_empty() {
            self.remaining += piece.len();
            self.pieces.push_back(piece);
        }
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.pieces.iter().map(|piece| &piece[..])
    }

    /// The whole body in one buffer.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.remaining);
        self.pieces().for_each(|piece| out.extend_from_slice(piece));
        out
    }
}

impl From<Bytes> for Chunks {
    fn from(piece: Bytes) -> Self {
        let mut chunks = Chunks::default();
        chunks.push(piece);
        chunks
    }
}

impl Buf for Chunks {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.pieces.front().map_or(&[], |piece| &piece[..])
    }

    fn chunks_vectored<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slice, piece) in slices.iter_mut().zip(&self.pieces) {
            *slice = IoSlice::new(piece);
            filled += 1;
        }
        filled
    }

    fn advance(&mut self, mut count: usize) {
        assert!(count <= self.remaining, "advanced past the end of the body");
        self.remaining -= count;
        while count > 0 {
            let front = self.pieces.front_mut().expect("remaining counts the pieces");
            if count < front.len() {
                front.advance(count);
                return;
            }
            count -= front.len();
            self.pieces.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_one_body_across_pieces() {
        let mut chunks = Chunks::default();
        chunks.push(Bytes::from_static(b"ab"));
        chunks.push(Bytes::new());
        chunks.push(Bytes::from_static(b"cde"));
        chunks.push(Bytes::from_static(b"f"));
        assert_eq!((chunks.remaining(), chunks.to_vec()), (6, b"abcdef".to_vec()));
        let mut slices = [IoSlice::new(&[]); 2];
        assert_eq!(chunks.chunks_vectored(&mut slices), 2);
        assert_eq!((&*slices[0], &*slices[1]), (&b"ab"[..], &b"cde"[..]));
        chunks.advance(3);
        assert_eq!((chunks.chunk(), chunks.remaining()), (&b"de"[..], 3));
        let mut copy = chunks.clone();
        assert_eq!(copy.copy_to_bytes(3), Bytes::from_static(b"def"));
        chunks.advance(3);
        assert_eq!((chunks.chunk(), chunks.remaining()), (&b""[..], 0));
    }
}
