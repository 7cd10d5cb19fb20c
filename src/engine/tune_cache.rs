//! Where tuned kernel choices persist between runs: natively a JSON file in the user's
//! cache directory (`<cache dir>/paraformer/kernels.json`, found by the `dirs` crate;
//! `--kernel-cache FILE` names another), in the page one `localStorage` entry.
//!
//! Rules: an entry's key names everything its measurement depends on (crate version,
//! backend, adapter name, vendor and device ids, driver and driver info, a hash of the op's
//! shader source and candidate list, op, mode and shape), so a changed kernel, driver or
//! release misses and is tuned again. A cache that cannot be read or parsed is a warning,
//! never an error: tuning starts from nothing and the next save rewrites it. A save re-reads
//! the stored file and merges into it, then (natively) writes a temporary file of its own
//! and renames it over the old one: two processes tuning at once leave a valid file and a
//! reader never sees half of one (at worst one's new entries are lost to the other's
//! rename, and tuned again by a later run).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The format this build reads and writes; another number is ignored with a warning.
const FORMAT: u32 = 1;

/// Where a cache lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Location {
    /// The user's cache directory natively, `localStorage` in the page.
    #[default]
    User,
    /// This file (natively; in the page, the `localStorage` key of that name).
    At(std::path::PathBuf),
    /// Nowhere: choices last as long as the engine.
    Memory,
}

/// A variant and its median time when it was tuned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// As `--kernel` spells it.
    pub variant: String,
    /// Median ms of one run of the op (its dispatches) with this variant; None when it
    /// failed to compile or run (`note` says why) or was dropped before the last pass.
    pub ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One tuned choice as stored: the variant and what every candidate measured; or one of
/// the device's measured peaks (`engine::peak`): its `rate`, and how it was measured in
/// `variant`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub variant: String,
    pub candidates: Vec<Candidate>,
    /// A peak's GFLOP/s or GB/s (absent for kernel choices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    format: u32,
    entries: BTreeMap<String, Entry>,
}

/// The cache's entries as loaded, and what was wrong with the stored copy.
#[derive(Debug, Default)]
pub struct Cache {
    pub location: Location,
    pub entries: BTreeMap<String, Entry>,
    pub warnings: Vec<String>,
}

/// What a tuned choice was measured on: the key's part that is the same for every op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub backend: String,
    pub name: String,
    pub vendor: u32,
    pub device: u32,
    pub driver: String,
    pub driver_info: String,
}

impl Device {
    pub fn of(info: &wgpu::AdapterInfo) -> Device {
        Device {
            backend: format!("{:?}", info.backend),
            name: info.name.clone(),
            vendor: info.vendor,
            device: info.device,
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
        }
    }
}

/// The key of one choice: every fact its measurement depends on, joined by " | ".
/// `source_hash` covers the op's shader source and its candidates (defines and constants).
pub fn key(device: &Device, op: &str, source_hash: u32, mode: &str, shape: &str) -> String {
    format!(
        "{} | {} | {} | {:04x}:{:04x} | {} | {} | {op} {source_hash:08x} | {mode} | {shape}",
        env!("CARGO_PKG_VERSION"),
        device.backend,
        device.name,
        device.vendor,
        device.device,
        device.driver,
        device.driver_info,
    )
}

/// A stable hash of texts (a shader's source, its candidates' names): CRC-32.
pub fn hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    h.finalize()
}

impl Cache {
    /// Loads the cache at `location`: a missing one is empty, a broken one empty with a
    /// warning.
    pub fn load(location: &Location) -> Cache {
        let mut cache = Cache {
            location: location.clone(),
            ..Cache::default()
        };
        match read(location) {
            Ok(None) => {}
            Ok(Some(text)) => match parse(&text) {
                Ok(entries) => cache.entries = entries,
                Err(e) => cache.warnings.push(format!(
                    "ignoring the kernel cache {}: {e}; it is rewritten after tuning",
                    describe(location)
                )),
            },
            Err(e) => cache.warnings.push(format!(
                "ignoring the kernel cache {}: {e}",
                describe(location)
            )),
        }
        cache
    }

    /// Stores `new` entries, merged into what is stored now (which may have changed since
    /// `load`). Returns a warning when they could not be written.
    pub fn save(&mut self, new: BTreeMap<String, Entry>) -> Option<String> {
        self.entries.extend(new.clone());
        if self.location == Location::Memory || new.is_empty() {
            return None;
        }
        let mut entries = match read(&self.location) {
            Ok(Some(text)) => parse(&text).unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        // Entries of other releases can never match again.
        let version = format!("{} | ", env!("CARGO_PKG_VERSION"));
        entries.retain(|k, _| k.starts_with(&version));
        entries.extend(new);
        let file = File {
            format: FORMAT,
            entries,
        };
        let text = match serde_json::to_string_pretty(&file) {
            Ok(text) => text,
            Err(e) => return Some(format!("could not encode the kernel cache: {e}")),
        };
        write(&self.location, &text).err().map(|e| {
            format!(
                "could not write the kernel cache {}: {e}",
                describe(&self.location)
            )
        })
    }
}

fn parse(text: &str) -> Result<BTreeMap<String, Entry>, String> {
    let file: File = serde_json::from_str(text).map_err(|e| format!("not a kernel cache ({e})"))?;
    if file.format != FORMAT {
        return Err(format!(
            "format {} is not this build's format {FORMAT}",
            file.format
        ));
    }
    Ok(file.entries)
}

/// The cache's place in words, for warnings and reports.
pub fn describe(location: &Location) -> String {
    match location {
        Location::Memory => "(in memory only)".into(),
        #[cfg(target_arch = "wasm32")]
        Location::User => format!("localStorage[{STORAGE_KEY}]"),
        #[cfg(target_arch = "wasm32")]
        Location::At(p) => format!("localStorage[{}]", p.display()),
        #[cfg(not(target_arch = "wasm32"))]
        _ => path(location).map_or_else(
            || "(no user cache directory on this system)".into(),
            |p| p.display().to_string(),
        ),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn path(location: &Location) -> Option<std::path::PathBuf> {
    match location {
        Location::User => Some(dirs::cache_dir()?.join("paraformer").join("kernels.json")),
        Location::At(p) => Some(p.clone()),
        Location::Memory => None,
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read(location: &Location) -> Result<Option<String>, String> {
    let Some(p) = path(location) else {
        return Ok(None);
    };
    match std::fs::read(&p) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| "it is not UTF-8 text".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn write(location: &Location, text: &str) -> Result<(), String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let p = path(location).ok_or("there is no user cache directory on this system")?;
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    // A name of this writer's own (process and write), renamed over the cache: readers
    // see the old file or the new one, never a mix.
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = p.with_extension(format!("json.{}.{n}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        use std::io::Write;
        f.write_all(text.as_bytes())?;
        // On disk before it replaces the old file: a crash leaves the old or the new one.
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.to_string());
    }
    std::fs::rename(&tmp, &p).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

#[cfg(target_arch = "wasm32")]
const STORAGE_KEY: &str = "paraformer.kernels";

#[cfg(target_arch = "wasm32")]
fn storage_key(location: &Location) -> Option<String> {
    match location {
        Location::User => Some(STORAGE_KEY.into()),
        Location::At(p) => Some(p.display().to_string()),
        Location::Memory => None,
    }
}

#[cfg(target_arch = "wasm32")]
fn storage() -> Result<web_sys::Storage, String> {
    web_sys::window()
        .ok_or("no window")?
        .local_storage()
        .map_err(|_| "localStorage is not allowed on this page".to_string())?
        .ok_or_else(|| "this browser has no localStorage".into())
}

#[cfg(target_arch = "wasm32")]
fn read(location: &Location) -> Result<Option<String>, String> {
    let Some(key) = storage_key(location) else {
        return Ok(None);
    };
    storage()?
        .get_item(&key)
        .map_err(|_| "localStorage could not be read".into())
}

#[cfg(target_arch = "wasm32")]
fn write(location: &Location, text: &str) -> Result<(), String> {
    let Some(key) = storage_key(location) else {
        return Ok(());
    };
    storage()?
        .set_item(&key, text)
        .map_err(|_| "localStorage is full or not allowed".into())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn entry(v: &str) -> Entry {
        Entry {
            variant: v.into(),
            candidates: vec![Candidate {
                variant: v.into(),
                ms: Some(1.0),
                note: None,
            }],
            rate: None,
        }
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("paraformer-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        let _ = std::fs::remove_file(&p);
        p
    }

    fn k(s: &str) -> String {
        format!("{} | x | {s}", env!("CARGO_PKG_VERSION"))
    }

    #[test]
    fn round_trip_merge_and_corruption() {
        let p = temp("round.json");
        let at = Location::At(p.clone());
        let mut a = Cache::load(&at);
        assert!(a.entries.is_empty() && a.warnings.is_empty(), "{a:?}");
        // Two writers that loaded the same (empty) cache both keep their entries.
        let mut b = Cache::load(&at);
        assert_eq!(a.save(BTreeMap::from([(k("a"), entry("4x4/16"))])), None);
        assert_eq!(b.save(BTreeMap::from([(k("b"), entry("1x4/64"))])), None);
        let c = Cache::load(&at);
        assert_eq!(c.entries.len(), 2, "{c:?}");
        assert_eq!(c.entries[&k("b")], entry("1x4/64"));

        for broken in [
            "{not json",
            "{\"format\": 99, \"entries\": {}}",
            "{\"format\": 1, \"entries\": {\"k\": {\"variant\": 3}}}",
            "\u{0}\u{1}",
            "",
        ] {
            std::fs::write(&p, broken).unwrap();
            let mut d = Cache::load(&at);
            assert!(d.entries.is_empty(), "{broken}");
            assert!(
                d.warnings[0].contains("ignoring the kernel cache")
                    && d.warnings[0].contains(&p.display().to_string()),
                "{:?}",
                d.warnings
            );
            // The next save rewrites it whole.
            assert_eq!(d.save(BTreeMap::from([(k("c"), entry("9x16/16"))])), None);
            let e = Cache::load(&at);
            assert!(e.warnings.is_empty() && e.entries.len() == 1, "{e:?}");
        }
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.insert(0, 0xff);
        std::fs::write(&p, bytes).unwrap();
        assert!(Cache::load(&at).warnings[0].contains("not UTF-8"));
    }

    #[test]
    fn concurrent_writers_leave_a_valid_file() {
        let p = temp("concurrent.json");
        let at = Location::At(p.clone());
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let at = at.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let mut c = Cache::load(&at);
                        assert!(c.warnings.is_empty(), "writer {w}: {:?}", c.warnings);
                        let new = BTreeMap::from([(k(&format!("{w}-{i}")), entry("4x8/64"))]);
                        assert_eq!(c.save(new), None);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let c = Cache::load(&at);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Each writer's last entry at least: later renames may drop earlier ones.
        assert!(!c.entries.is_empty());
        let leftovers = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("concurrent.json.")
            })
            .count();
        assert_eq!(leftovers, 0, "no temporary files are left behind");
    }

    #[test]
    fn keys_change_with_the_source_and_the_device() {
        let dev = Device {
            backend: "Vulkan".into(),
            name: "llvmpipe".into(),
            vendor: 0x10005,
            device: 0,
            driver: "llvmpipe".into(),
            driver_info: "Mesa 22.3.6".into(),
        };
        let h = hash(["fn main() {}", "9x16/16"]);
        assert_eq!(h, hash(["fn main() {}", "9x16/16"]));
        assert_ne!(h, hash(["fn main() { }", "9x16/16"]));
        assert_ne!(h, hash(["fn main() {}9x16/16"]), "parts are separated");
        let a = key(&dev, "linear", h, "serial", "65x576x192 z1");
        assert!(a.starts_with(env!("CARGO_PKG_VERSION")), "{a}");
        assert!(a.contains("llvmpipe") && a.contains("Mesa 22.3.6"), "{a}");
        assert_ne!(a, key(&dev, "linear", h ^ 1, "serial", "65x576x192 z1"));
        let other = Device {
            driver_info: "Mesa 24.0".into(),
            ..dev.clone()
        };
        assert_ne!(a, key(&other, "linear", h, "serial", "65x576x192 z1"));
    }

    #[test]
    fn other_releases_are_dropped_on_save_and_unwritable_is_a_warning() {
        let p = temp("versions.json");
        let old = File {
            format: FORMAT,
            entries: BTreeMap::from([("0.0.0-old | x".to_string(), entry("4x4/16"))]),
        };
        std::fs::write(&p, serde_json::to_string(&old).unwrap()).unwrap();
        let at = Location::At(p.clone());
        let mut c = Cache::load(&at);
        assert_eq!(c.save(BTreeMap::from([(k("y"), entry("4x8/64"))])), None);
        let keys: Vec<String> = Cache::load(&at).entries.into_keys().collect();
        assert_eq!(keys, vec![k("y")]);

        // A directory where the file should be: loading warns, saving warns, neither fails.
        let dir = temp("a-directory.json");
        std::fs::create_dir_all(&dir).unwrap();
        let at = Location::At(dir.clone());
        let mut c = Cache::load(&at);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        let w = c.save(BTreeMap::from([(k("z"), entry("4x8/64"))])).unwrap();
        assert!(w.contains("could not write the kernel cache"), "{w}");
        assert_eq!(c.entries.len(), 1, "kept in memory all the same");
    }
}
