//! Bounded concurrency for the tools that do the same remote call for many
//! clusters: at most N threads, results in input order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
        .map(|(i, result)| {
            result.map_err(|panic| {
                crate::Error::internal(format!(
                    "a worker thread panicked on item {} of {}: {}",
                    i + 1,
                    items.len(),
                    panic_message(panic.as_ref())
                ))
            })
        })
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
        .map(|result| {
            result.unwrap_or_else(|panic| {
                Err(crate::Error::internal(format!(
                    "a worker thread panicked ({})",
                    panic_message(panic.as_ref())
                )))
            })
        })
        .collect()
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
}
