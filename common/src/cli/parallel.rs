//! Bounded concurrency for the tools that do the same work for many items
//! (clusters, objects, add-on folders): at most N threads, results in input
//! order, either all at the end or each as soon as those before it are in.
//! And the deep stacks that template renders need ([`run_deep`]).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// The stack of a deep-stack thread: room for recursive work that only a
/// step count bounds. A template render walks nested values recursively,
/// and within its fuel a template can nest a list some tens of thousands
/// deep (`{% set ns.v = [ns.v] %}` in a loop), which would overflow an
/// ordinary thread's 2 MiB. The pages are only reserved, not used, unless
/// the work goes that deep.
pub const DEEP_STACK_BYTES: usize = 64 << 20;

thread_local! {
    /// Set on the threads started with [`DEEP_STACK_BYTES`] of stack.
    static ON_DEEP_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread has [`DEEP_STACK_BYTES`] of stack, so deep
/// work may run on it directly.
pub fn on_deep_stack() -> bool {
    ON_DEEP_STACK.get()
}

/// Runs `work` where the stack is [`DEEP_STACK_BYTES`] deep and gives its
/// result, or its panic: on the calling thread when it is a deep-stack one
/// (a worker of [`for_each_in_order`] with [`WorkerStack::Deep`]), else on
/// the process's one deep-stack thread, started on first use and kept.
///
/// Not a thread per call: that cost more than the work of a small
/// template. Not the caller's whole loop on a thread of its own either:
/// off the main thread, glibc gives a thread an arena of its own, and
/// writing a large output there took a fifth longer. `Err` is a thread
/// that could not be started.
pub fn run_deep<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> std::io::Result<std::thread::Result<R>> {
    let work = std::panic::AssertUnwindSafe(work);
    if on_deep_stack() {
        return Ok(std::panic::catch_unwind(work));
    }
    let stopped = || std::io::Error::other("the deep-stack thread has stopped");
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    let job: DeepJob = Box::new(move || {
        let _ = reply.send(std::panic::catch_unwind(work));
    });
    deep_thread()?.send(job).map_err(|_| stopped())?;
    answer.recv().map_err(|_| stopped())
}

type DeepJob = Box<dyn FnOnce() + Send>;

/// The process's deep-stack thread: it runs the jobs sent to it, one at a
/// time, until the process ends.
fn deep_thread() -> std::io::Result<&'static std::sync::mpsc::Sender<DeepJob>> {
    static THREAD: std::sync::OnceLock<Result<std::sync::mpsc::Sender<DeepJob>, String>> =
        std::sync::OnceLock::new();
    let started = THREAD.get_or_init(|| {
        let (jobs, receiver) = std::sync::mpsc::channel::<DeepJob>();
        std::thread::Builder::new()
            .name("deep-stack".into())
            .stack_size(DEEP_STACK_BYTES)
            .spawn(move || {
                ON_DEEP_STACK.set(true);
                for job in receiver {
                    job();
                }
            })
            .map(|_| jobs)
            .map_err(|err| err.to_string())
    });
    started
        .as_ref()
        .map_err(|err| std::io::Error::other(err.clone()))
}

/// The stack of the worker threads of [`for_each_in_order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerStack {
    /// The platform's default (2 MiB): work that does not recurse deeply.
    Default,
    /// [`DEEP_STACK_BYTES`]: work that may render templates
    /// ([`run_deep`] then runs it in place).
    Deep,
}

/// Starts a scoped thread with `stack`, marked when it is a deep one.
fn spawn_worker<'scope, R: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    stack: WorkerStack,
    work: impl FnOnce() -> R + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, R>> {
    let builder = std::thread::Builder::new();
    match stack {
        WorkerStack::Default => builder.spawn_scoped(scope, work),
        WorkerStack::Deep => builder
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(scope, move || {
                ON_DEEP_STACK.set(true);
                work()
            }),
    }
}

/// The threads a tool uses when not told how many: one per core it may run
/// on (1 when that cannot be known).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` over `items` on at most `concurrency` threads and returns the
/// results in input order. A panicking `work` panics here, on the caller's
/// thread, once every thread has stopped; use [`try_map_bounded`] where a
/// panic must become an error.
pub fn map_bounded<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    run_bounded(items, concurrency, work)
        .into_iter()
        .map(|result| result.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        .collect()
}

/// [`map_bounded`], where a `work` that panics becomes
/// [`Error::Internal`](crate::Error::Internal) naming the item, never a
/// dropped result (issue 12: `--all` once exited 0 having checked fewer files
/// than it said). The other items still run to the end.
pub fn try_map_bounded<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    work: impl Fn(&T) -> R + Sync,
) -> crate::Result<Vec<R>> {
    run_bounded(items, concurrency, work)
        .into_iter()
        .enumerate()
        .map(|(i, result)| result.map_err(|panic| item_panic(i, items.len(), panic.as_ref())))
        .collect()
}

/// [`map_bounded`] for fallible work whose items fail one by one (one
/// object, one cluster): a panic becomes that item's
/// [`Error::Internal`](crate::Error::Internal), the others keep their results.
pub fn map_each<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    work: impl Fn(&T) -> crate::Result<R> + Sync,
) -> Vec<crate::Result<R>> {
    run_bounded(items, concurrency, work)
        .into_iter()
        .map(|result| result.unwrap_or_else(|panic| Err(worker_panic(panic.as_ref()))))
        .collect()
}

/// Runs `work` on each of `items` in place, on at most `concurrency`
/// threads that take the items one by one: no list of results beside the
/// items. A `work` that panics becomes
/// [`Error::Internal`](crate::Error::Internal) naming the first such item;
/// the other items still run to the end.
pub fn try_update_bounded<T: Send>(
    items: &mut [T],
    concurrency: usize,
    work: impl Fn(&mut T) + Sync,
) -> crate::Result<()> {
    let count = items.len();
    let threads = concurrency.clamp(1, count.max(1));
    let next = Mutex::new(items.iter_mut().enumerate());
    let first_panic: Mutex<Option<(usize, Panic)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let taken = next.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some((i, item)) = taken else { break };
                if let Err(panic) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item)))
                {
                    let mut first = first_panic.lock().unwrap_or_else(|p| p.into_inner());
                    if first.as_ref().is_none_or(|(at, _)| i < *at) {
                        *first = Some((i, panic));
                    }
                }
            });
        }
    });
    match first_panic.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((i, panic)) => Err(item_panic(i, count, panic.as_ref())),
        None => Ok(()),
    }
}

/// How many results per thread may wait for an earlier one in
/// [`for_each_in_order`]: a slow item (a retry) holds up the output, not
/// the other work, until this many have finished after it.
pub const REORDER_WINDOW: usize = 4;

/// Runs `work` on `0..count` on at most `concurrency` threads and hands each
/// result (`Err`: the panic of `work`) to `consume` on the calling thread, in
/// index order, each as soon as those before it are in: a tool writes its
/// output while the rest is still worked on. Workers run at most
/// [`REORDER_WINDOW`] x threads items ahead of `consume`, so few results
/// wait in memory. The first error of `consume` stops the work (items
/// already started finish) and is returned.
pub fn for_each_in_order<R: Send>(
    count: usize,
    concurrency: usize,
    stack: WorkerStack,
    work: impl Fn(usize) -> R + Sync,
    mut consume: impl FnMut(usize, std::thread::Result<R>) -> crate::Result<()>,
) -> crate::Result<()> {
    struct Shared<R> {
        /// The next item a worker takes.
        next: usize,
        /// Items consumed so far: workers stay within `window` of it.
        consumed: usize,
        /// Done and not yet consumed, by index.
        done: BTreeMap<usize, std::thread::Result<R>>,
        /// The item the consumer sleeps until, if it sleeps.
        awaited: Option<usize>,
        /// Workers asleep until the consumer makes room in the window.
        waiting_workers: usize,
        /// Stop taking items (consume failed).
        stop: bool,
    }
    let threads = concurrency.clamp(1, count.max(1));
    let window = threads * REORDER_WINDOW;
    let shared = Mutex::new(Shared {
        next: 0,
        consumed: 0,
        done: BTreeMap::new(),
        awaited: None,
        waiting_workers: 0,
        stop: false,
    });
    // Each side is woken only when the other has what it waits for: a
    // wake-up is a system call and a switch of threads, and most results
    // come in before the consumer asks for them.
    let ready = Condvar::new();
    let room = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::scope(|scope| {
        let mut started = 0;
        for _ in 0..threads {
            let worker = spawn_worker(scope, stack, || loop {
                let i = {
                    let mut state = lock();
                    while !state.stop && state.next < count && state.next >= state.consumed + window
                    {
                        state.waiting_workers += 1;
                        state = room.wait(state).unwrap_or_else(|p| p.into_inner());
                        state.waiting_workers -= 1;
                    }
                    if state.stop || state.next >= count {
                        return;
                    }
                    state.next += 1;
                    state.next - 1
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(i)));
                let awaited = {
                    let mut state = lock();
                    state.done.insert(i, result);
                    state.awaited == Some(i)
                };
                if awaited {
                    ready.notify_one();
                }
            });
            match worker {
                Ok(_) => started += 1,
                // The workers already started do every item.
                Err(_) if started > 0 => break,
                Err(err) => {
                    return Err(crate::Error::internal(format!(
                        "cannot start a worker thread: {err}"
                    )))
                }
            }
        }
        let mut outcome = Ok(());
        for i in 0..count {
            let (result, workers_wait) = {
                let mut state = lock();
                let result = loop {
                    if let Some(result) = state.done.remove(&i) {
                        break result;
                    }
                    state.awaited = Some(i);
                    state = ready.wait(state).unwrap_or_else(|p| p.into_inner());
                    state.awaited = None;
                };
                state.consumed = i + 1;
                (result, state.waiting_workers > 0)
            };
            if workers_wait {
                room.notify_all();
            }
            outcome = consume(i, result);
            if outcome.is_err() {
                break;
            }
        }
        lock().stop = true;
        room.notify_all();
        outcome
    })
}

/// A worker's panic as the internal error of the one item it was on.
pub fn worker_panic(panic: &(dyn std::any::Any + Send)) -> crate::Error {
    crate::Error::internal(format!(
        "a worker thread panicked ({})",
        panic_message(panic)
    ))
}

/// A worker's panic as the internal error of a whole run, naming the item
/// (`i` counts from 0) among `count`.
pub fn item_panic(i: usize, count: usize, panic: &(dyn std::any::Any + Send)) -> crate::Error {
    crate::Error::internal(format!(
        "a worker thread panicked on item {} of {count}: {}",
        i + 1,
        panic_message(panic)
    ))
}

type Panic = Box<dyn std::any::Any + Send>;

/// Every item's result or its panic, in input order.
fn run_bounded<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<Result<R, Panic>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, Panic>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    let threads = concurrency.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item)));
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err(Box::new("the item was never run"))))
        .collect()
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn keeps_input_order_and_bounds_threads() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u32> = (0..40).collect();
        let doubled = map_bounded(&items, 3, |n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            running.fetch_sub(1, Ordering::SeqCst);
            n * 2
        });
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert!(map_bounded(&[] as &[u32], 4, |n| *n).is_empty());
    }

    #[test]
    fn items_are_updated_in_place_and_a_panic_names_the_first_item() {
        let mut items: Vec<u32> = (0..40).collect();
        try_update_bounded(&mut items, 3, |n| *n *= 2).unwrap();
        assert_eq!(items, (0..40).map(|n| n * 2).collect::<Vec<_>>());
        try_update_bounded(&mut [] as &mut [u32], 4, |n| *n += 1).unwrap();

        let mut items: Vec<u32> = (0..10).collect();
        let err = try_update_bounded(&mut items, 2, |n| {
            assert!(*n != 4 && *n != 8, "boom on {n}");
            *n += 100;
        })
        .unwrap_err();
        assert!(matches!(err, crate::Error::Internal(_)), "{err:?}");
        assert!(err.to_string().contains("item 5 of 10: boom on 4"), "{err}");
        // The other items still ran.
        assert_eq!(items.iter().filter(|n| **n >= 100).count(), 8);
    }

    #[test]
    fn a_worker_panic_is_an_internal_error_not_a_dropped_result() {
        let items: Vec<u32> = (0..10).collect();
        let err = try_map_bounded(&items, 3, |n| {
            if *n == 7 {
                panic!("boom on {n}");
            }
            *n
        })
        .unwrap_err();
        assert!(matches!(err, crate::Error::Internal(_)), "{err:?}");
        assert!(err.to_string().contains("item 8 of 10: boom on 7"), "{err}");
        assert_eq!(err.exit_status() as u8, 1);
        assert_eq!(try_map_bounded(&items, 2, |n| n + 1).unwrap()[9], 10);
    }

    #[test]
    fn in_order_hands_results_in_order_and_stops_at_the_first_error() {
        let mut seen = Vec::new();
        let outcome = for_each_in_order(
            100,
            3,
            WorkerStack::Deep,
            |i| {
                if i == 7 {
                    panic!("boom on {i}");
                }
                assert!(on_deep_stack(), "a deep worker says so");
                i * 2
            },
            |i, result| match result {
                Ok(value) => {
                    seen.push(value);
                    Ok(())
                }
                Err(panic) => Err(item_panic(i, 100, panic.as_ref())),
            },
        );
        assert_eq!(seen, (0..7).map(|i| i * 2).collect::<Vec<_>>());
        let err = outcome.unwrap_err();
        assert!(
            err.to_string().contains("item 8 of 100: boom on 7"),
            "{err}"
        );
        assert!(for_each_in_order(0, 4, WorkerStack::Default, |i| i, |_, _| Ok(())).is_ok());
        let default = for_each_in_order(
            2,
            2,
            WorkerStack::Default,
            |_| on_deep_stack(),
            |_, r| {
                assert_eq!(r.ok(), Some(false));
                Ok(())
            },
        );
        assert!(default.is_ok());
    }

    #[test]
    fn run_deep_uses_one_kept_thread_or_the_deep_worker_it_is_on() {
        assert!(!on_deep_stack());
        let here = std::thread::current().id();
        let first = run_deep(|| (on_deep_stack(), std::thread::current().id()))
            .unwrap()
            .unwrap();
        let second = run_deep(|| std::thread::current().id()).unwrap().unwrap();
        assert!(first.0, "the work ran on a deep stack");
        assert_ne!(first.1, here, "not on the caller's thread");
        assert_eq!(first.1, second, "one thread, kept for every call");
        // On a deep worker, in place.
        let outcome = for_each_in_order(
            1,
            1,
            WorkerStack::Deep,
            |_| {
                let worker = std::thread::current().id();
                run_deep(move || std::thread::current().id() == worker)
                    .unwrap()
                    .unwrap()
            },
            |_, in_place| {
                assert_eq!(in_place.ok(), Some(true));
                Ok(())
            },
        );
        assert!(outcome.is_ok());
        // A panic comes back as the result, and the thread goes on.
        assert!(run_deep(|| panic!("carried")).unwrap().is_err());
        assert_eq!(run_deep(|| 7).unwrap().unwrap(), 7);
    }
}
