//! Engine promises that a panic cannot leave pending. `future_to_promise` polls its future in
//! a microtask; a panic there traps the instance and the promise would never settle, hanging
//! the request that awaits it. [`promise`] records which task is being polled, and the panic
//! hook rejects exactly that task's promise (with an opaque 500 error) before the trap. Other
//! tasks of the instance are untouched and finish.
//!
//! [`run`] first polls the future in place: a call that needs no storage (a read's commit
//! releases its lease by disposing an RPC stub; an object answers from its cached record)
//! returns its value at once, without a promise, a queued task or a microtask hop. Only a
//! future that has to wait becomes a promise.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

thread_local! {
    static POLLING: Cell<u64> = const { Cell::new(0) };
    static NEXT: Cell<u64> = const { Cell::new(1) };
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

/// Called by the panic hook: rejects the promise of the task being polled, if any.
pub fn fail_polling_task() {
    let id = POLLING.with(Cell::get);
    if id == 0 {
        return;
    }
    let reject = REJECT.with(|r| r.try_borrow_mut().ok().and_then(|mut r| r.remove(&id)));
    if let Some(reject) = reject {
        let _ = reject.call1(&JsValue::NULL, &trap_error());
    }
}

/// Polls `inner` with its task id recorded.
struct Tracked<F> {
    id: u64,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let outer = POLLING.with(|p| p.replace(self.id));
        let r = self.inner.as_mut().poll(cx);
        POLLING.with(|p| p.set(outer));
        r
    }
}

/// Like `future_to_promise`, but a panic while the future is polled rejects the promise.
pub fn promise<F>(future: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let id = NEXT.with(|n| n.replace(n.get() + 1));
    let mut future = Some(future);
    Promise::new(&mut |resolve: Function, reject: Function| {
        REJECT.with(|r| r.borrow_mut().insert(id, reject.clone()));
        let Some(inner) = future.take() else { return };
        let tracked = Tracked {
            id,
            inner: Box::pin(inner),
        };
        spawn_local(async move {
            let r = tracked.await;
            REJECT.with(|m| m.borrow_mut().remove(&id));
            let _ = match r {
                Ok(v) => resolve.call1(&JsValue::NULL, &v),
                Err(e) => reject.call1(&JsValue::NULL, &e),
            };
        });
    })
}

/// Runs `future` as far as it goes now: its value if it completes without waiting (a
/// rejected promise if it fails), or else a promise of it, polled on as [`promise`] does.
/// Polling it first with a no-op waker is sound: a future that returns `Pending` is polled
/// again by the task, with the task's waker, before anything can be missed.
pub fn run<F>(future: F) -> JsValue
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    let mut future = Box::pin(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Ok(v)) => v,
        Poll::Ready(Err(e)) => Promise::reject(&e).into(),
        Poll::Pending => promise(future).into(),
    }
}
