//! What differs between a native process and a browser page, below the app: how long work
//! gives the page's event loop a turn.

/// In the browser, waits `ms` milliseconds on a timer, which lets the page's event loop run
/// (drawing, input, the GPU's callbacks) before the caller continues; `0` is one turn of
/// the loop. Natively work runs on its own thread and nothing waits.
pub async fn browser_pause(ms: i32) {
    #[cfg(target_arch = "wasm32")]
    {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = ms;
}

/// Whether the page's browser has the WebGPU API (`navigator.gpu`); natively always true
/// (whether an adapter exists is `Gpu::new`'s to find out).
pub fn has_webgpu_api() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window().is_some_and(|w| {
            js_sys::Reflect::get(&w.navigator(), &"gpu".into()).is_ok_and(|g| !g.is_undefined())
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    true
}
