//! Several data sets read by the same passes: one outcome each, from the same files.
//!
//! Data sets opened together
//! ([`ParquetSources::open_outcomes`](crate::parquet::ParquetSources::open_outcomes))
//! differ only in their outcome columns; each reads its rows through a [`Member`] of one
//! [`SharedPasses`], whose stream holds every outcome's blocks (a data set opened alone
//! is the one member of its group). While members are
//! *joined* (their fits run side by side, [`SharedPasses::join`]), a pass one of them
//! asks for waits until every joined member has asked for one or left; then the files
//! are read once (the union of the columns asked for, parts split among reading
//! threads) and each batch handed to every member, which sums it on its own thread. A
//! member that is not joined, or that asks from within a parallel task, reads alone.
//!
//! A member sees the same batches, put back in row order, whether it reads alone or
//! with the others, so its sums — and its fit — are the same to the last bit; K outcomes
//! fitted together read the files as often as the one with the most passes.

use std::fmt;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};

use super::row_stream::{read_alone, RowStream};
use crate::error::Error;
use crate::rows::{RowBlock, Rows};

/// Batches a reader may hold ready for a member that has not taken them yet.
const BATCHES_IN_FLIGHT: usize = 2;

/// The stream every member reads, and the members' pending passes.
pub(crate) struct SharedPasses {
    stream: Box<dyn RowStream>,
    /// Sources per member: member k's source j is the stream's source k·per_member + j.
    per_member: usize,
    round: Mutex<Round>,
}

/// Which members are joined and which of them wait for a pass.
struct Round {
    joined: Vec<bool>,
    waiting: Vec<Option<Request>>,
    /// Passes read so far (each a read of the files).
    reads: usize,
}

/// A member's pass: the stream's sources it reads, and where its batches go.
struct Request {
    sources: Vec<usize>,
    to: SyncSender<Delivery>,
}

/// What a reader hands a member.
enum Delivery {
    /// A batch's first row and the member's blocks, in the order it asked for them.
    Batch(usize, Vec<RowBlock>),
    /// A part could not be read: the pass's sums are incomplete.
    Failed(Error),
    /// Every part was read.
    Done,
}

impl fmt::Debug for SharedPasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPasses")
            .field("stream", &self.stream)
            .field("per_member", &self.per_member)
            .finish_non_exhaustive()
    }
}

impl SharedPasses {
    /// `members` data sets reading `stream`, each `per_member` of its sources in turn.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn new(stream: Box<dyn RowStream>, members: usize, per_member: usize) -> Arc<Self> {
        Arc::new(Self {
            stream,
            per_member,
            round: Mutex::new(Round {
                joined: vec![false; members],
                waiting: (0..members).map(|_| None).collect(),
                reads: 0,
            }),
        })
    }

    /// Member `index` of the group.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    pub(crate) fn member(self: &Arc<Self>, index: usize) -> Member {
        Member {
            group: Arc::clone(self),
            index,
        }
    }

    /// Joins member `index` until the guard is dropped: its passes then wait for the
    /// other joined members' and share their reads.
    pub(crate) fn join(self: &Arc<Self>, index: usize) -> Joined {
        self.lock().joined[index] = true;
        Joined {
            group: Arc::clone(self),
            index,
        }
    }

    /// How many times the files were read by the members' passes (together or alone).
    pub(crate) fn reads(&self) -> usize {
        self.lock().reads
    }

    fn lock(&self) -> MutexGuard<'_, Round> {
        // A member that panicked while holding the lock leaves a consistent round: the
        // lock only guards plain assignments.
        self.round.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues member `index`'s pass over `sources`; `None` when the member is not
    /// joined (or already waits), and it reads alone. The last joined member to ask
    /// starts the read.
    fn ask(self: &Arc<Self>, index: usize, sources: Vec<usize>) -> Option<Receiver<Delivery>> {
        let mut round = self.lock();
        if !round.joined[index] || round.waiting[index].is_some() {
            return None;
        }
        let (to, from) = sync_channel(BATCHES_IN_FLIGHT);
        round.waiting[index] = Some(Request { sources, to });
        self.start_if_ready(&mut round);
        Some(from)
    }

    /// Starts a read for the waiting members once every joined member waits.
    fn start_if_ready(self: &Arc<Self>, round: &mut Round) {
        let any = round.waiting.iter().any(Option::is_some);
        let all = (round.joined.iter().zip(&round.waiting)).all(|(&j, w)| !j || w.is_some());
        if any && all {
            let requests: Vec<Request> =
                round.waiting.iter_mut().filter_map(Option::take).collect();
            round.reads += 1;
            let group = Arc::clone(self);
            std::thread::spawn(move || group.read_for(&requests));
        }
    }

    /// One read of every part, each batch handed to every request: the parts split
    /// among as many reading threads as the machine has cores (threads of their own,
    /// so that a member's parallel work never waits for a reader blocked on it).
    fn read_for(&self, requests: &[Request]) {
        let mut union: Vec<usize> = requests.iter().flat_map(|r| r.sources.clone()).collect();
        union.sort_unstable();
        union.dedup();
        let positions: Vec<Vec<usize>> = (requests.iter())
            .map(|r| {
                r.sources
                    .iter()
                    .map(|s| union.binary_search(s).unwrap_or(0))
                    .collect()
            })
            .collect();
        let parts = self.stream.parts().len();
        let readers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, parts.max(1));
        std::thread::scope(|scope| {
            for reader in 0..readers {
                let (union, positions) = (&union, &positions);
                scope.spawn(move || {
                    for part in (reader..parts).step_by(readers) {
                        self.read_part_for(part, union, (requests, positions));
                    }
                });
            }
        });
        // Reached only when no reading thread panicked: a member that sees its
        // channel close without it knows the pass is incomplete.
        for request in requests {
            let _ = request.to.send(Delivery::Done);
        }
    }

    /// Part `part` of the stream's sources `union`, each batch handed to every request
    /// (its blocks at `positions` in the union).
    fn read_part_for(
        &self,
        part: usize,
        union: &[usize],
        (requests, positions): (&[Request], &[Vec<usize>]),
    ) {
        let read = self.stream.read_part(part, union, &mut |start, blocks| {
            for (request, places) in requests.iter().zip(positions) {
                let mine = places.iter().map(|&p| blocks[p].clone()).collect();
                // A member that stopped listening (it failed) needs nothing more.
                let _ = request.to.send(Delivery::Batch(start, mine));
            }
        });
        if let Err(e) = read {
            for request in requests {
                let _ = request.to.send(Delivery::Failed(e.clone()));
            }
        }
    }
}

/// Keeps a member joined (see [`SharedPasses::join`]); leaving may start the read the
/// others wait for.
pub(crate) struct Joined {
    group: Arc<SharedPasses>,
    index: usize,
}

impl Drop for Joined {
    fn drop(&mut self) {
        let mut round = self.group.lock();
        round.joined[self.index] = false;
        self.group.start_if_ready(&mut round);
    }
}

/// One data set's view of a [`SharedPasses`].
#[derive(Debug, Clone)]
pub(crate) struct Member {
    group: Arc<SharedPasses>,
    index: usize,
}

impl Member {
    /// The group this member belongs to.
    pub(crate) fn group(&self) -> &Arc<SharedPasses> {
        &self.group
    }

    /// Names of the extra columns every block read carries.
    pub(crate) fn column_names(&self) -> &[String] {
        self.group.stream.column_names()
    }

    /// The member's index in its group.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// `f` on every batch of the member's sources `sources` (its own indices), in row
    /// order, with the other joined members' passes when it is joined; a part that
    /// could not be read is handed to `fail`.
    pub(crate) fn map_batches<R: Send>(
        &self,
        (sources, names): (&[usize], &[String]),
        f: impl Fn(usize, &[Rows<'_>]) -> R + Sync + Send,
        fail: impl Fn(Error) + Sync,
    ) -> Vec<R> {
        let offset = self.index * self.group.per_member;
        let mine: Vec<usize> = sources.iter().map(|&j| offset + j).collect();
        let asked = (!in_parallel_task())
            .then(|| self.group.ask(self.index, mine.clone()))
            .flatten();
        let Some(batches) = asked else {
            self.group.lock().reads += 1;
            return read_alone(self.group.stream.as_ref(), (&mine, names), f, fail);
        };
        let mut out = Vec::new();
        let mut done = false;
        for delivery in batches {
            match delivery {
                Delivery::Batch(start, blocks) => {
                    let rows: Vec<Rows<'_>> = blocks.iter().map(|b| b.view(names)).collect();
                    out.push((start, f(start, &rows)));
                }
                Delivery::Failed(e) => fail(e),
                Delivery::Done => done = true,
            }
        }
        if !done {
            fail(Error::Read {
                path: "the files shared by several outcomes".into(),
                reason: "their shared read stopped before its end".into(),
            });
        }
        // Parts arrive interleaved; each batch's first row puts them back in row order.
        out.sort_by_key(|(start, _)| *start);
        out.into_iter().map(|(_, r)| r).collect()
    }
}

/// Whether this thread runs a parallel task, whose wait for the other members could
/// hold the pool they need: such passes read alone.
fn in_parallel_task() -> bool {
    #[cfg(feature = "parallel")]
    {
        rayon::current_thread_index().is_some()
    }
    #[cfg(not(feature = "parallel"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tier::row_stream::Visit;
    use ndarray::{Array1, Array2};
    use std::ops::Range;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Two members' sources (member k's outcome t + k, covariate t) over 10 rows in
    /// parts of 4, batches of 2, counting the parts read.
    #[derive(Debug)]
    struct Counting {
        parts: Vec<Range<usize>>,
        reads: Arc<AtomicUsize>,
        /// Panics reading this part.
        broken: Option<usize>,
    }

    impl RowStream for Counting {
        fn parts(&self) -> &[Range<usize>] {
            &self.parts
        }
        fn read_part(
            &self,
            part: usize,
            sources: &[usize],
            visit: &mut Visit<'_>,
        ) -> crate::Result<()> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            assert_ne!(Some(part), self.broken, "a reader's own failure");
            let range = self.parts[part].clone();
            for start in range.clone().step_by(2) {
                let rows: Vec<f64> = (start..(start + 2).min(range.end))
                    .map(|t| t as f64)
                    .collect();
                let x = Arc::new(Array2::from_shape_vec((rows.len(), 1), rows.clone()).unwrap());
                let blocks: Vec<RowBlock> = (sources.iter())
                    .map(|&k| RowBlock {
                        x: Arc::clone(&x),
                        y: Array1::from(rows.iter().map(|t| t + k as f64).collect::<Vec<_>>()),
                        extra: Array2::zeros((rows.len(), 0)),
                    })
                    .collect();
                visit(start, &blocks);
            }
            Ok(())
        }
        fn column_names(&self) -> &[String] {
            &[]
        }
    }

    fn group() -> (Arc<SharedPasses>, Arc<AtomicUsize>) {
        group_with(None)
    }

    fn group_with(broken: Option<usize>) -> (Arc<SharedPasses>, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let stream = Counting {
            parts: vec![0..4, 4..8, 8..10],
            reads: Arc::clone(&reads),
            broken,
        };
        (SharedPasses::new(Box::new(stream), 2, 1), reads)
    }

    /// Each pass of member k: (first row, Σ y) per batch.
    fn passes(member: &Member, count: usize) -> Vec<Vec<(usize, f64)>> {
        (0..count)
            .map(|_| {
                member.map_batches(
                    (&[0], &[]),
                    |start, rows| (start, rows[0].y().sum()),
                    |e| panic!("{e}"),
                )
            })
            .collect()
    }

    #[test]
    fn joined_members_share_each_read_and_see_what_they_would_alone() {
        let (group, parts_read) = group();
        let alone: Vec<_> = (0..2).map(|k| passes(&group.member(k), 1)).collect();
        assert_eq!(parts_read.load(Ordering::SeqCst), 2 * 3);
        assert_eq!(
            alone[1][0],
            vec![(0, 3.0), (2, 7.0), (4, 11.0), (6, 15.0), (8, 19.0)]
        );
        let guards = [group.join(0), group.join(1)];
        // Member 0 makes three passes, member 1 one: three reads of the three parts.
        let together: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = guards
                .into_iter()
                .enumerate()
                .map(|(k, guard)| {
                    let member = group.member(k);
                    scope.spawn(move || {
                        let out = passes(&member, if k == 0 { 3 } else { 1 });
                        drop(guard);
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(parts_read.load(Ordering::SeqCst), 2 * 3 + 3 * 3);
        assert_eq!(group.reads(), 2 + 3);
        for k in 0..2 {
            assert!(together[k].iter().all(|pass| *pass == alone[k][0]));
        }
    }

    /// A reading thread that dies leaves every member with a read error, not with
    /// the sums of the parts read before.
    #[test]
    fn a_shared_read_that_stops_early_is_a_read_error() {
        let (group, _) = group_with(Some(1));
        let guards = [group.join(0), group.join(1)];
        let failures: Vec<Vec<Error>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (guards.into_iter().enumerate())
                .map(|(k, guard)| {
                    let member = group.member(k);
                    scope.spawn(move || {
                        let seen = Mutex::new(Vec::new());
                        member.map_batches(
                            (&[0], &[]),
                            |_, _| (),
                            |e| seen.lock().unwrap().push(e),
                        );
                        drop(guard);
                        seen.into_inner().unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for seen in failures {
            assert!(matches!(seen.as_slice(), [Error::Read { .. }]), "{seen:?}");
        }
    }
}
