//! The few things that differ between the desktop and the browser: running a background
//! task, picking and saving files, the page URL and handing results to the page.

use std::sync::{Arc, Mutex};

/// A file the user picked or dropped.
pub struct Picked {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub type Inbox = Arc<Mutex<Vec<Picked>>>;

fn spawn(task: impl std::future::Future<Output = ()> + 'static + MaybeSend) {
    #[cfg(not(target_arch = "wasm32"))]
    std::thread::spawn(move || pollster::block_on(task));
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_futures::spawn_local(task);
}

#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> MaybeSend for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSend for T {}

/// Opens a file picker (native dialog or the browser's) without blocking the UI; the
/// chosen file lands in `inbox`.
pub fn pick_file(title: &str, extensions: &[&str], inbox: Inbox, repaint: egui::Context) {
    let dialog = rfd::AsyncFileDialog::new()
        .set_title(title)
        .add_filter(extensions.join(", "), extensions);
    spawn(async move {
        if let Some(file) = dialog.pick_file().await {
            let picked = Picked {
                name: file.file_name(),
                bytes: file.read().await,
            };
            inbox.lock().expect("inbox lock").push(picked);
            repaint.request_repaint();
        }
    });
}

/// Reads a file dropped on the window or page into `inbox` (asynchronously in the browser).
pub fn read_dropped(
    file: Arc<dyn egui::DroppedFile + Send + Sync>,
    inbox: Inbox,
    repaint: egui::Context,
) {
    let name = file.path().file_name().map_or_else(
        || file.path().display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    #[cfg(not(target_arch = "wasm32"))]
    let read = async move { file.bytes() };
    #[cfg(target_arch = "wasm32")]
    let read = async move { file.bytes_async().await };
    spawn(async move {
        let bytes = read.await.unwrap_or_else(|e| {
            // An unreadable file becomes an empty one, which the loaders reject with a message.
            log_error(&format!("cannot read {name}: {e}"));
            Vec::new()
        });
        inbox
            .lock()
            .expect("inbox lock")
            .push(Picked { name, bytes });
        repaint.request_repaint();
    });
}

/// Fetches `url` (relative to the page), telling `progress` the bytes received so far and
/// the size the server announced. Errors name the URL and what went wrong.
#[cfg(target_arch = "wasm32")]
pub async fn fetch(
    url: &str,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let failed = |what: &str, e: wasm_bindgen::JsValue| format!("{url}: {what} ({e:?})");
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| failed("the request failed", e))?
        .dyn_into()
        .map_err(|e| failed("not a response", e))?;
    if !response.ok() {
        return Err(format!(
            "{url}: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    // The announced length is of what travels; a compressed transfer inflates beyond it.
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let body = response
        .body()
        .ok_or_else(|| format!("{url}: the response has no body"))?;
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|e| failed("the body cannot be read", e.into()))?;
    let mut bytes = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| failed("the download broke off", e))?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .map_err(|e| failed("unreadable chunk", e))?
            .as_bool()
            .unwrap_or(true);
        if done {
            return Ok(bytes);
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into())
            .map_err(|e| failed("unreadable chunk", e))?;
        bytes.extend(js_sys::Uint8Array::new(&value).to_vec());
        progress(bytes.len() as u64, total.map(|t| t.max(bytes.len() as u64)));
    }
}

fn log_error(msg: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::error_1(&msg.into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{msg}");
}

/// Saves text: a save dialog natively, a download in the browser. Returns a status line.
pub fn save_text(name: &str, mime: &str, text: String, status: Arc<Mutex<Option<String>>>) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = mime;
        let dialog = rfd::AsyncFileDialog::new().set_file_name(name);
        spawn(async move {
            if let Some(file) = dialog.save_file().await {
                let path = file.path().to_path_buf();
                let msg = match std::fs::write(&path, text) {
                    Ok(()) => format!("saved {}", path.display()),
                    Err(e) => format!("cannot write {}: {e}", path.display()),
                };
                *status.lock().expect("status lock") = Some(msg);
            }
        });
    }
    #[cfg(target_arch = "wasm32")]
    {
        let msg = match download(name, mime, &text) {
            Ok(()) => format!("downloaded {name}"),
            Err(e) => format!("download failed: {e:?}"),
        };
        *status.lock().expect("status lock") = Some(msg);
    }
}

#[cfg(target_arch = "wasm32")]
fn download(name: &str, mime: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// The page's URL parameters as the browser decodes them (`URLSearchParams`), in order.
#[cfg(target_arch = "wasm32")]
pub fn query_pairs() -> Vec<(String, String)> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return Vec::new();
    };
    params
        .entries()
        .into_iter()
        .filter_map(Result::ok)
        .map(|entry| {
            let pair = js_sys::Array::from(&entry);
            let text = |i| pair.get(i).as_string().unwrap_or_default();
            (text(0), text(1))
        })
        .collect()
}

/// The page's address without its fragment (web); natively the page a share link points
/// at: `PARAFORMER_PAGE_URL`, else the address `scripts/dev.sh web` serves.
pub fn page_url() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let l = web_sys::window().map(|w| w.location());
        let part = |f: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
            l.as_ref().and_then(|l| f(l).ok()).unwrap_or_default()
        };
        format!(
            "{}{}{}",
            part(web_sys::Location::origin),
            part(web_sys::Location::pathname),
            part(web_sys::Location::search)
        )
    }
    #[cfg(not(target_arch = "wasm32"))]
    std::env::var("PARAFORMER_PAGE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080/".into())
}

/// The page URL's fragment (`#...`); natively there is none.
pub fn url_fragment() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default()
    }
    #[cfg(not(target_arch = "wasm32"))]
    String::new()
}

/// Milliseconds since the page's navigation started (browser); natively None.
pub fn page_ms() -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// Tells the page how long it took to come up (`window.paraformerLoad`, as in the results).
pub fn publish_page_load(load: &paraformer::bench::PageLoad) {
    #[cfg(target_arch = "wasm32")]
    if let Some(w) = web_sys::window()
        && let Ok(text) = serde_json::to_string(load)
        && let Ok(value) = js_sys::JSON::parse(&text)
    {
        let _ = js_sys::Reflect::set(&w, &"paraformerLoad".into(), &value);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = load;
}

/// Tells the page the result of the GPU-vs-reference check (`window.paraformerCheck`:
/// `{max_abs_error, scale, kernels, precision}`, kernels as in the bench JSON).
pub fn publish_check(
    err: f32,
    scale: f32,
    kernels: &[paraformer::bench::kernels::KernelUse],
    precision: paraformer::engine::Precision,
) {
    #[cfg(target_arch = "wasm32")]
    if let Some(w) = web_sys::window() {
        let value = serde_json::json!({
            "max_abs_error": err,
            "scale": scale,
            "kernels": kernels,
            "precision": precision,
        });
        if let Ok(v) = js_sys::JSON::parse(&value.to_string()) {
            let _ = js_sys::Reflect::set(&w, &"paraformerCheck".into(), &v);
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (err, scale, kernels, precision);
}

/// Tells the page the share link of its finished sweep (`window.paraformerShareLink`).
pub fn publish_share_link(link: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"paraformerShareLink".into(), &link.into());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = link;
}

/// Hands a finished sweep's JSON to the page as `window.paraformerResults` (web) or
/// writes it to `path` (native, when the app was launched with `--results`).
pub fn publish_results(json: &str, path: Option<&str>) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    {
        let _ = path;
        let window = web_sys::window().ok_or("no window")?;
        let value = js_sys::JSON::parse(json).map_err(|e| format!("{e:?}"))?;
        js_sys::Reflect::set(&window, &"paraformerResults".into(), &value)
            .map_err(|e| format!("{e:?}"))?;
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    match path {
        Some(p) => {
            std::fs::write(p, json).map_err(|e| format!("cannot write results to '{p}': {e}"))
        }
        None => Ok(()),
    }
}

/// Puts a status message into the page's live region (`#messages`), where screen readers and
/// automation read what the canvas shows. Natively the window shows it; nothing else to do.
pub fn announce(message: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("messages"))
    {
        el.set_text_content(Some(message));
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}

/// Announces a notice that is no failure and tells the page about it too
/// (`window.paraformerNotice`), so automation sees it.
pub fn publish_notice(message: &str) {
    announce(message);
    #[cfg(target_arch = "wasm32")]
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"paraformerNotice".into(), &message.into());
    }
}

/// Announces a failure and tells the page about it too (`window.paraformerError`), so
/// automation sees it.
pub fn publish_error(message: &str) {
    announce(message);
    #[cfg(target_arch = "wasm32")]
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"paraformerError".into(), &message.into());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = message;
}
