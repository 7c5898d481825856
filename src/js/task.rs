//! The engine's own executor for its promises: each exported call's future is polled at once,
//! in the call, and again when something it waits for wakes it, in the same turn, with no
//! queued microtask. wasm-bindgen-futures' `spawn_local` queues a microtask (through
//! `queueMicrotask`, a call out of wasm that workerd wraps for its async context) for the first
//! poll and for every wake: bench/profile.mjs put that at about 70 µs of a proxied write.
//!
//! - [`run`] polls the future in place: a call that needs no storage (a read's commit releases
//!   its lease by disposing an RPC stub; an object answers from its cached record) returns its
//!   value at once, without a promise. Only a future that has to wait becomes a promise.
//! - A wake while a task is being polled (one task releasing the lock another waits for) is
//!   queued and served when that poll returns, so no task is polled inside another's poll and
//!   no borrow of shared state is ever held across one.
//! - A panic cannot leave a promise pending: the task being polled is recorded, and the panic
//!   hook rejects exactly its promise (with an opaque 500 error) before the instance traps.
//!   Other tasks of the instance are untouched.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

type Task = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    /// The task being polled (0: none).
    static POLLING: Cell<u64> = const { Cell::new(0) };
    /// How many polls are running (more than 1 only if a poll calls back into an export).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static NEXT: Cell<u64> = const { Cell::new(1) };
    /// Tasks waiting to be woken; a task is out of this map while it is polled.
    static TASKS: RefCell<HashMap<u64, Task>> = RefCell::new(HashMap::new());
    /// Tasks woken while a poll was running, to poll once it returns.
    static READY: RefCell<VecDeque<u64>> = const { RefCell::new(VecDeque::new()) };
    /// Each pending promise's reject function, for the panic hook.
    static REJECT: RefCell<HashMap<u64, Function>> = RefCell::new(HashMap::new());
}

/// The error a request gets when the engine failed under it: `status` 500 and an opaque
/// `publicMessage`, as every engine error carries.
pub fn trap_error() -> JsValue {
    let err = js_sys::Error::new("session engine failed");
    let _ = js_sys::Reflect::set(&err, &"status".into(), &JsValue::from(500));
    let _ = js_sys::Reflect::set(&err, &"publicMessage".into(), &"internal error".into());
    err.into()
}

/// Called by the panic hook: rejects the promise of the task being polled, if any. The trap
/// that follows unwinds the polls without returning, so the executor forgets them here and
/// serves the tasks woken meanwhile in a microtask: the instance's other tasks finish.
pub fn fail_polling_task() {
    let id = POLLING.with(|p| p.replace(0));
    DEPTH.with(|d| d.set(0));
    let stranded = READY.with(|r| r.try_borrow().map_or(true, |r| !r.is_empty()));
    if stranded {
        let serve = Closure::<dyn FnMut(JsValue)>::new(|_| drain());
        let _ = Promise::resolve(&JsValue::UNDEFINED).then(&serve);
        serve.forget(); // once per panic: the microtask needs it alive
    }
    if id == 0 {
        return;
    }
    let reject = REJECT.with(|r| r.try_borrow_mut().ok().and_then(|mut r| r.remove(&id)));
    if let Some(reject) = reject {
        let _ = reject.call1(&JsValue::NULL, &trap_error());
    }
}

/// A task's waker: it names the task, which lives in `TASKS`.
struct TaskWaker(u64);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        wake(self.0);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        wake(self.0);
    }
}

fn wake(id: u64) {
    READY.with(|r| r.borrow_mut().push_back(id));
    drain();
}

/// Polls `f` as task `id`, with the task's waker and the task recorded for the panic hook.
fn poll_as<T>(id: u64, f: Pin<&mut (dyn Future<Output = T> + '_)>) -> Poll<T> {
    let waker = Waker::from(Arc::new(TaskWaker(id)));
    let outer = POLLING.with(|p| p.replace(id));
    DEPTH.with(|d| d.set(d.get() + 1));
    let r = f.poll(&mut Context::from_waker(&waker));
    DEPTH.with(|d| d.set(d.get() - 1));
    POLLING.with(|p| p.set(outer));
    r
}

/// Polls the woken tasks, unless a poll is running (it drains them when it returns).
fn drain() {
    if DEPTH.with(Cell::get) > 0 {
        return;
    }
    while let Some(id) = READY.with(|r| r.borrow_mut().pop_front()) {
        // absent: done already, or woken twice and polled since
        let Some(mut task) = TASKS.with(|t| t.borrow_mut().remove(&id)) else {
            continue;
        };
        if poll_as(id, task.as_mut()).is_pending() {
            TASKS.with(|t| t.borrow_mut().insert(id, task));
        }
    }
}

/// A promise of `future`, polled at once and then on every wake.
pub fn promise<F>(future: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    start(Box::pin(future), None)
}

/// Makes the promise of task `future` (`first`: the result of a poll already made as the next
/// task id, or `None` to poll it now) and keeps the task until it settles.
fn start(
    future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>,
    first: Option<u64>,
) -> Promise {
    let id = first.unwrap_or_else(|| NEXT.with(|n| n.replace(n.get() + 1)));
    let mut settle = None;
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        settle = Some((resolve, reject));
    });
    let Some((resolve, reject)) = settle else {
        return Promise::reject(&trap_error());
    };
    REJECT.with(|r| r.borrow_mut().insert(id, reject.clone()));
    let task: Task = Box::pin(async move {
        let r = future.await;
        REJECT.with(|m| m.borrow_mut().remove(&id));
        let _ = match r {
            Ok(v) => resolve.call1(&JsValue::NULL, &v),
            Err(e) => reject.call1(&JsValue::NULL, &e),
        };
    });
    TASKS.with(|t| t.borrow_mut().insert(id, task));
    if first.is_none() {
        READY.with(|r| r.borrow_mut().push_back(id));
    }
    drain();
    promise
}

/// Runs `future` as far as it goes now: its value if it completes without waiting (a
/// rejected promise if it fails), or else a promise of it, polled on every wake. The first
/// poll already uses the task's own waker, so nothing that wakes it meanwhile is missed.
pub fn run<F>(future: F) -> JsValue
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let id = NEXT.with(|n| n.replace(n.get() + 1));
    let mut future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    let value = match poll_as(id, future.as_mut()) {
        Poll::Ready(Ok(v)) => v,
        Poll::Ready(Err(e)) => Promise::reject(&e).into(),
        Poll::Pending => return start(future, Some(id)).into(),
    };
    drain(); // what this call woke (a lease it released, on the object's side)
    value
}
