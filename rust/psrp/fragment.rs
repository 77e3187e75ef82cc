//! PSRP fragments (MS-PSRP 2.2.4): how a message travels as one or more fragments, each
//! `ObjectId` (8 bytes), `FragmentId` (8 bytes), flags (1 byte: 0x1 start, 0x2 end), `BlobLength`
//! (4 bytes), all big-endian, then the blob. Fragments of different objects may be interleaved; the
//! fragments of one object come in order, numbered from 0.
//!
//! Sans-IO: [`Outgoing`] queues messages and hands out fragments up to a byte budget (OutOfProc
//! has no limit, WinRS fits them into MaxEnvelopeSize); [`Defragmenter`] takes bytes as they come (any
//! split) and gives back whole messages, within a bound on what it holds.

use std::collections::{HashMap, VecDeque};

use crate::error::{Error, ErrorKind, Result};

/// Bytes before a fragment's blob: object id, fragment id, flags, blob length.
pub const HEADER_LEN: usize = 21;

/// Flag of a fragment that starts its object.
const START: u8 = 0x1;
/// Flag of a fragment that ends its object.
const END: u8 = 0x2;

/// Writes one fragment (header and `blob`) to `out`.
fn write_fragment(out: &mut Vec<u8>, object_id: u64, fragment_id: u64, start: bool, end: bool, blob: &[u8]) {
    out.extend_from_slice(&object_id.to_be_bytes());
    out.extend_from_slice(&fragment_id.to_be_bytes());
    out.push(if start { START } else { 0 } | if end { END } else { 0 });
    out.extend_from_slice(&(blob.len() as u32).to_be_bytes());
    out.extend_from_slice(blob);
}

/// The runspace pool id in the header of the message that a start fragment at the beginning of
/// `bytes` carries (MS-PSRP 2.2.4, then the message header of 2.2.1: destination, type, RPID), e.g.
/// to name a WinRS shell after its pool as PowerShell does. None when `bytes` does not begin with a
/// start fragment holding a whole message header.
pub fn first_runspace_pool(bytes: &[u8]) -> Option<uuid::Uuid> {
    let flags = *bytes.get(16)?;
    let rpid = bytes.get(HEADER_LEN + 8..HEADER_LEN + 24)?;
    (flags & START != 0).then(|| uuid::Uuid::from_bytes_le(rpid.try_into().expect("16 bytes")))
}

/// A message waiting to go, and how much of it has gone.
struct Queued {
    object_id: u64,
    data: Vec<u8>,
    sent: usize,
    next_fragment: u64,
}

/// Messages on their way out as fragments, in the order they were queued. Object ids count from 1.
#[derive(Default)]
pub struct Outgoing {
    queue: VecDeque<Queued>,
    next_object: u64,
}

impl Outgoing {
    /// An empty queue.
    pub fn new() -> Outgoing {
        Outgoing::default()
    }

    /// Queues a message (the bytes of [`super::message::Message::encode`]); returns its object id.
    pub fn push(&mut self, message: Vec<u8>) -> u64 {
        self.next_object += 1;
        self.queue.push_back(Queued { object_id: self.next_object, data: message, sent: 0, next_fragment: 0 });
        self.next_object
    }

    /// Whether nothing is left to send.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next fragments, at most `budget` bytes in all (None: no limit), whole messages first: as many
    /// fragments as fit, each at least one blob byte long. None when nothing is queued.
    /// Errors: InvalidArgument when `budget` cannot hold a fragment header and one byte.
    pub fn take(&mut self, budget: Option<usize>) -> Result<Option<Vec<u8>>> {
        if budget.map_or(false, |b| b <= HEADER_LEN) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("A PSRP fragment needs more than {HEADER_LEN} bytes; {budget:?} were allowed")));
        }
        let mut out = Vec::new();
        while let Some(q) = self.queue.front_mut() {
            let room = budget.map_or(usize::MAX, |b| b.saturating_sub(out.len()));
            if room <= HEADER_LEN {
                break;
            }
            let blob = (q.data.len() - q.sent).min(room - HEADER_LEN);
            let (start, end) = (q.sent == 0, q.sent + blob == q.data.len());
            write_fragment(&mut out, q.object_id, q.next_fragment, start, end, &q.data[q.sent..q.sent + blob]);
            q.sent += blob;
            q.next_fragment += 1;
            if end {
                self.queue.pop_front();
            } else {
                break;
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

/// An object being reassembled.
struct Partial {
    next_fragment: u64,
    data: Vec<u8>,
}

/// Whole messages out of fragments that arrive in pieces of any size.
pub struct Defragmenter {
    /// Bytes of a fragment not yet complete.
    pending: Vec<u8>,
    objects: HashMap<u64, Partial>,
    /// The most bytes held at once (pending bytes and partial objects).
    max_held: usize,
}

impl Defragmenter {
    /// A defragmenter that holds at most `max_held` bytes of unfinished messages (more is an error).
    pub fn new(max_held: usize) -> Defragmenter {
        Defragmenter { pending: Vec::new(), objects: HashMap::new(), max_held }
    }

    fn held(&self) -> usize {
        self.pending.len() + self.objects.values().map(|p| p.data.len()).sum::<usize>()
    }

    /// Takes the next bytes of the fragment stream; returns the messages they complete, in order.
    /// Errors (BadReply): a fragment out of order or for an object that was not started, a start of an
    /// object already open, more than `max_held` bytes held. After an error the stream is unusable.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.pending.extend_from_slice(bytes);
        let mut done = Vec::new();
        let mut at = 0;
        while self.pending.len() - at >= HEADER_LEN {
            let h = &self.pending[at..at + HEADER_LEN];
            let object_id = u64::from_be_bytes(h[0..8].try_into().unwrap());
            let fragment_id = u64::from_be_bytes(h[8..16].try_into().unwrap());
            let flags = h[16];
            let length = u32::from_be_bytes(h[17..21].try_into().unwrap()) as usize;
            if length > self.max_held {
                return Err(bad(format!("a PSRP fragment of {length} bytes is larger than the {} allowed", self.max_held)));
            }
            if self.pending.len() - at - HEADER_LEN < length {
                break;
            }
            let blob = &self.pending[at + HEADER_LEN..at + HEADER_LEN + length];
            let (start, end) = (flags & START != 0, flags & END != 0);
            if start {
                if fragment_id != 0 {
                    return Err(bad(format!("object {object_id} starts with fragment {fragment_id}")));
                }
                if self.objects.contains_key(&object_id) {
                    return Err(bad(format!("object {object_id} started twice")));
                }
                if end {
                    done.push(blob.to_vec());
                } else {
                    self.objects.insert(object_id, Partial { next_fragment: 1, data: blob.to_vec() });
                }
            } else {
                let partial = self.objects.get_mut(&object_id).ok_or_else(|| bad(format!("fragment {fragment_id} of object {object_id}, which was not started")))?;
                if fragment_id != partial.next_fragment {
                    return Err(bad(format!("fragment {fragment_id} of object {object_id} came where {} was due", partial.next_fragment)));
                }
                partial.data.extend_from_slice(blob);
                partial.next_fragment += 1;
                if end {
                    done.push(self.objects.remove(&object_id).map(|p| p.data).unwrap_or_default());
                }
            }
            at += HEADER_LEN + length;
            if self.held() - at > self.max_held {
                return Err(bad(format!("more than {} bytes of unfinished PSRP messages", self.max_held)));
            }
        }
        self.pending.drain(..at);
        if self.held() > self.max_held {
            return Err(bad(format!("more than {} bytes of unfinished PSRP messages", self.max_held)));
        }
        Ok(done)
    }

    /// Whether no message is half-received.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.objects.is_empty()
    }
}

fn bad(what: String) -> Error {
    Error::new(ErrorKind::BadReply, format!("Malformed PSRP fragments: {what}"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_first_runspace_pool_is_read_from_a_start_fragment() {
        let pool = uuid::Uuid::parse_str("0f9b4cb5-1d2e-4a2a-8c3f-5a4e0d6b7c8d").unwrap();
        let mut message = vec![2, 0, 0, 0, 2, 0, 1, 0];
        message.extend_from_slice(&pool.to_bytes_le());
        message.extend_from_slice(&[0; 16]);
        let mut out = Outgoing::new();
        out.push(message);
        let bytes = out.take(None).unwrap().unwrap();
        assert_eq!(first_runspace_pool(&bytes), Some(pool));
        assert_eq!(first_runspace_pool(&bytes[..30]), None, "a header cut short");
        let mut middle = bytes.clone();
        middle[16] = 0x2;
        assert_eq!(first_runspace_pool(&middle), None, "not a start fragment");
    }
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_small_message_is_one_fragment_with_both_flags() {
        let mut out = Outgoing::new();
        assert_eq!(out.push(b"abc".to_vec()), 1);
        let bytes = out.take(None).unwrap().unwrap();
        assert_eq!(bytes, [&1u64.to_be_bytes()[..], &0u64.to_be_bytes(), &[3], &3u32.to_be_bytes(), b"abc"].concat());
        assert!(out.is_empty() && out.take(None).unwrap().is_none());
    }

    #[test]
    fn budgets_split_messages_and_pack_small_ones_together() {
        let mut out = Outgoing::new();
        out.push(vec![7; 50]);
        out.push(vec![8; 5]);
        out.push(vec![9; 5]);
        let first = out.take(Some(HEADER_LEN + 30)).unwrap().unwrap();
        assert_eq!((first.len(), first[16]), (HEADER_LEN + 30, START));
        // The rest of the first message (20 bytes) and both small ones fit in 3 headers + 30 bytes.
        let rest = out.take(Some(3 * HEADER_LEN + 30)).unwrap().unwrap();
        assert_eq!(rest.len(), 3 * HEADER_LEN + 30);
        let mut d = Defragmenter::new(1 << 20);
        let got = d.push(&[first, rest].concat()).unwrap();
        assert_eq!(got, vec![vec![7; 50], vec![8; 5], vec![9; 5]]);
        assert!(d.is_idle());
        assert_eq!(out.take(Some(HEADER_LEN)).unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn broken_streams_are_errors() {
        let frag = |o: u64, f: u64, flags: u8, blob: &[u8]| {
            let mut v = Vec::new();
            write_fragment(&mut v, o, f, flags & START != 0, flags & END != 0, blob);
            v
        };
        for (stream, why) in [
            (frag(1, 1, 0, b"x"), "not started"),
            (frag(1, 3, START, b"x"), "starts with fragment 3"),
            ([frag(1, 0, START, b"x"), frag(1, 2, END, b"y")].concat(), "where 1 was due"),
            ([frag(1, 0, START, b"x"), frag(1, 0, START, b"y")].concat(), "started twice"),
        ] {
            let e = Defragmenter::new(1024).push(&stream).unwrap_err();
            assert!(e.kind == ErrorKind::BadReply && e.message.contains(why), "{why}: {}", e.message);
        }
        // A fragment that claims more than may be held is refused before its bytes come.
        let huge = [&1u64.to_be_bytes()[..], &0u64.to_be_bytes(), &[3], &u32::MAX.to_be_bytes()].concat();
        assert!(Defragmenter::new(1024).push(&huge).unwrap_err().message.contains("larger than"));
        // Unfinished objects beyond the bound.
        let mut d = Defragmenter::new(100);
        let e = (0..10u64).find_map(|o| d.push(&frag(o, 0, START, &[0; 20])).err()).unwrap();
        assert!(e.message.contains("unfinished"), "{}", e.message);
    }

    proptest! {
        /// Any messages, any budget, interleaved by any split of the byte stream, come back whole and in order.
        #[test]
        fn messages_survive_any_budget_and_any_split(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
            budget in (HEADER_LEN + 1)..200usize,
            cuts in prop::collection::vec(1..64usize, 0..40),
        ) {
            let mut out = Outgoing::new();
            for m in &messages { out.push(m.clone()); }
            let mut stream = Vec::new();
            while let Some(chunk) = out.take(Some(budget)).unwrap() {
                prop_assert!(chunk.len() <= budget);
                stream.extend(chunk);
            }
            let mut d = Defragmenter::new(1 << 20);
            let mut got = Vec::new();
            let mut rest = &stream[..];
            for c in cuts {
                let n = c.min(rest.len());
                got.extend(d.push(&rest[..n]).unwrap());
                rest = &rest[n..];
            }
            got.extend(d.push(rest).unwrap());
            prop_assert_eq!(got, messages);
            prop_assert!(d.is_idle());
        }

        /// Hostile bytes: an error or messages, never a panic, never more held than allowed.
        #[test]
        fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            let mut d = Defragmenter::new(4096);
            if d.push(&bytes).is_ok() {
                prop_assert!(d.held() <= 4096);
            }
        }
    }
}
