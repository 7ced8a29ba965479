//! Bounded concurrency for the tools that do the same work for many items
//! (clusters, objects, add-on folders): at most N threads, results in input
//! order, either all at the end or each as soon as those before it are in.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

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
        /// Stop taking items (consume failed).
        stop: bool,
    }
    let threads = concurrency.clamp(1, count.max(1));
    let window = threads * REORDER_WINDOW;
    let shared = Mutex::new(Shared {
        next: 0,
        consumed: 0,
        done: BTreeMap::new(),
        stop: false,
    });
    let changed = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = {
                    let mut state = lock();
                    while !state.stop && state.next < count && state.next >= state.consumed + window
                    {
                        state = changed.wait(state).unwrap_or_else(|p| p.into_inner());
                    }
                    if state.stop || state.next >= count {
                        return;
                    }
                    state.next += 1;
                    state.next - 1
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(i)));
                lock().done.insert(i, result);
                changed.notify_all();
            });
        }
        let mut outcome = Ok(());
        for i in 0..count {
            let result = {
                let mut state = lock();
                loop {
                    if let Some(result) = state.done.remove(&i) {
                        state.consumed = i + 1;
                        break result;
                    }
                    state = changed.wait(state).unwrap_or_else(|p| p.into_inner());
                }
            };
            changed.notify_all();
            outcome = consume(i, result);
            if outcome.is_err() {
                break;
            }
        }
        lock().stop = true;
        changed.notify_all();
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
            |i| {
                if i == 7 {
                    panic!("boom on {i}");
                }
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
        assert!(for_each_in_order(0, 4, |i| i, |_, _| Ok(())).is_ok());
    }
}
