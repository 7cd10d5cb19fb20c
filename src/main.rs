//! Entry points. Native: `paraformer` opens the desktop app (`paraformer --help` for its
//! launch flags); `paraformer infer|bench|eval|report ...` is the command line. Web: the
//! same app on the page's canvas, launched with the same flags as URL parameters.

mod app;
mod args;
mod assets;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
mod tab;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use clap::Parser;
    #[cfg(target_os = "linux")]
    quiet_headless_vulkan();
    // clap prints help, the version and its own usage errors (exit 2) itself.
    let cli = args::Cli::parse();
    let (result, command) = match cli.command {
        None => (run_app(cli.app), None),
        Some(args::Command::App(a)) => (run_app(a), None),
        Some(c) => {
            let name = match &c {
                args::Command::Infer(_) => "infer",
                args::Command::Bench(_) => "bench",
                args::Command::Eval(_) => "eval",
                args::Command::Report(_) => "report",
                args::Command::App(_) => "app",
            };
            (cli::main(c), Some(name))
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        if matches!(e, paraformer::Error::Usage(_)) {
            let command = command.map_or(String::new(), |c| format!(" {c}"));
            eprintln!("\nFor more information, try 'paraformer{command} --help'.");
        }
        std::process::exit(2);
    }
}

/// On Linux without a login session (a server, a container, CI), Mesa's device-select
/// Vulkan layer looks for a Wayland compositor and prints "error: XDG_RUNTIME_DIR is invalid
/// or not set" twice, which reads like one of our errors. Its job, putting the display's GPU
/// first, means nothing there (wgpu picks the adapter itself), so the layer is switched off
/// unless the user steers it (`MESA_VK_DEVICE_SELECT`) or has decided (`NODEVICE_SELECT`).
#[cfg(target_os = "linux")]
fn quiet_headless_vulkan() {
    let set = |key: &str| std::env::var_os(key).is_some();
    if !set("XDG_RUNTIME_DIR") && !set("NODEVICE_SELECT") && !set("MESA_VK_DEVICE_SELECT") {
        // SAFETY: the first thing main does, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn run_app(args: args::AppArgs) -> Result<(), paraformer::Error> {
    let launch = app::state::Launch::from_args(&args)?;
    let size = args.window_size.unwrap_or(args::WindowSize(1280.0, 800.0));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Para-Former on WebGPU")
            .with_inner_size([size.0, size.1]),
        ..Default::default()
    };
    eframe::run_native(
        "Para-Former on WebGPU",
        options,
        Box::new(|cc| Ok(Box::new(app::App::new(cc, launch)))),
    )
    .map_err(|e| paraformer::Error::Gpu(format!("cannot open the window: {e}")))
}

#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    // Messages go in as text: they may quote the URL, and a crafted link must not put
    // markup on the page.
    let show = |msg: &str| {
        if let Some(el) = document.get_element_by_id("status") {
            el.set_text_content(Some(msg));
        }
    };
    // A browser without WebGPU runs the app too: egui draws with WebGL, and the app says
    // that the CPU engine runs every view and how to get WebGPU.
    let window = web_sys::window().expect("a page has a window");
    let launch = match args::app_args_from_pairs(&app::platform::query_pairs())
        .and_then(|a| app::state::Launch::from_args(&a))
    {
        Ok(l) => l,
        Err(e) => {
            show(&format!("Bad URL parameters: {e}"));
            let _ = js_sys::Reflect::set(&window, &"paraformerError".into(), &e.to_string().into());
            return;
        }
    };
    let Some(canvas) = document
        .get_element_by_id("the_canvas_id")
        .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok())
    else {
        show("The page lacks its canvas (the_canvas_id).");
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let started = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions::default(),
                Box::new(|cc| Ok(Box::new(app::App::new(cc, launch)))),
            )
            .await;
        let document = web_sys::window()
            .and_then(|w| w.document())
            .expect("document");
        if let Some(el) = document.get_element_by_id("status") {
            match started {
                Ok(()) => el.remove(),
                Err(e) => el.set_text_content(Some(&format!("The app could not start: {e:?}"))),
            }
        }
    });
}
