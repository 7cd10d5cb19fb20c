//! Reports of schema 1 (`paraformer-bench/1`), brought up to the current schema when read:
//! schema 1 kept one adapter in the context, the GPU engine's figures at the top, and a
//! fixed `fit` (GPU) and `cpu_fit`; schema 2 keeps them per backend (`engines`, `fits`).

use serde_json::{Map, Value, json};

pub const SCHEMA_1: &str = "paraformer-bench/1";

/// Rewrites a schema-1 report in place into the current schema's shape.
pub fn upgrade(v: &mut Value) {
    let Some(top) = v.as_object_mut() else {
        return;
    };
    let mut take = |key: &str| top.remove(key).unwrap_or(Value::Null);
    let create_ms = take("engine_create_ms");
    let (held, weights, needed) = (
        take("device_bytes"),
        take("weight_bytes"),
        take("needed_bytes"),
    );
    let (fit, cpu_fit) = (take("fit"), take("cpu_fit"));
    let mut ctx = take("context");
    let mut ctx_take = |k: &str| {
        ctx.as_object_mut()
            .and_then(|c| c.remove(k))
            .unwrap_or(Value::Null)
    };
    let (adapter, threads, simd) = (
        ctx_take("adapter"),
        ctx_take("cpu_threads"),
        ctx_take("cpu_simd"),
    );
    let settings = &ctx["settings"];
    let measured = |backend: &str| match settings.get("backends").and_then(Value::as_array) {
        Some(list) => list.iter().any(|b| b == backend),
        // Files before backends measured the GPU engine alone.
        None => backend == "gpu",
    };
    let mut engines = Map::new();
    if measured("gpu") {
        let precision = settings.get("precision").cloned().unwrap_or(json!("f32"));
        // Files before the memory figures had none; before the needed bytes, 0 of those.
        let memory = match held {
            Value::Null => Value::Null,
            held => json!({"held_bytes": held, "weight_bytes": or_zero(weights),
                           "needed_bytes": or_zero(needed)}),
        };
        engines.insert(
            "gpu".into(),
            json!({"adapter": adapter, "precision": precision, "create_ms": create_ms,
                   "memory": memory}),
        );
    }
    if measured("cpu") {
        // Schema 1 did not time the CPU engine's opening.
        engines.insert(
            "cpu".into(),
            json!({"threads": threads, "simd": simd, "precision": "f32"}),
        );
    }
    let mut fits = Map::new();
    for (name, f) in [("gpu", fit), ("cpu", cpu_fit)] {
        if !f.is_null() {
            fits.insert(name.into(), f);
        }
    }
    top.insert("context".into(), ctx);
    top.insert("engines".into(), Value::Object(engines));
    top.insert("fits".into(), Value::Object(fits));
    top.insert("schema".into(), json!(super::report::SCHEMA));
}

fn or_zero(v: Value) -> Value {
    if v.is_null() { json!(0) } else { v }
}

#[cfg(test)]
mod tests {
    use super::super::{Backend, Report, SCHEMA};
    use serde_json::Value;

    /// A `bench --backend all --profile` file written by the last release of schema 1.
    const FILE: &str = include_str!("../../tests/fixtures/reports/schema1-gpu-cpu.json");

    #[test]
    fn a_schema_1_file_is_read_with_every_figure_in_its_backend() {
        let old: Value = serde_json::from_str(FILE).unwrap();
        assert_eq!(old["schema"], super::SCHEMA_1);
        let r = Report::from_json(FILE).unwrap();
        assert_eq!(r.schema, SCHEMA);
        let gpu = &r.engines[&Backend::Gpu];
        let adapter = gpu.adapter.as_ref().unwrap();
        assert_eq!(adapter.name, old["context"]["adapter"]["name"]);
        assert_eq!(gpu.create_ms.unwrap(), old["engine_create_ms"]);
        let memory = gpu.memory.unwrap();
        assert_eq!(memory.held_bytes, old["device_bytes"]);
        assert_eq!(memory.needed_bytes, old["needed_bytes"]);
        let cpu = &r.engines[&Backend::Cpu];
        assert_eq!(cpu.threads.unwrap(), old["context"]["cpu_threads"]);
        assert_eq!(cpu.simd.as_deref().unwrap(), old["context"]["cpu_simd"]);
        assert!(cpu.adapter.is_none() && cpu.memory.is_none() && cpu.create_ms.is_none());
        // Both fits, under their backends, as the file had them.
        let fit = |key: &str| serde_json::to_value(&old[key]).unwrap();
        assert_eq!(
            serde_json::to_value(&r.fits[&Backend::Gpu]).unwrap(),
            fit("fit")
        );
        assert_eq!(
            serde_json::to_value(&r.fits[&Backend::Cpu]).unwrap(),
            fit("cpu_fit")
        );
        assert_eq!(r.points.len(), old["points"].as_array().unwrap().len());
        assert!(r.profiles.iter().all(|p| p.backend == Backend::Gpu));
        assert_eq!(r.device_peak.len(), 2);
        // Read again after writing: the new schema round-trips.
        assert_eq!(Report::from_json(&r.to_json()).unwrap(), r);
        let table = r.table();
        assert!(
            table.contains(&format!("gpu engine: {}", adapter.name)),
            "{table}"
        );
        assert!(table.contains("cpu engine: gemm ("), "{table}");
    }

    #[test]
    fn a_schema_1_file_from_before_backends_is_the_gpu_engines() {
        let mut old: Value = serde_json::from_str(FILE).unwrap();
        let top = old.as_object_mut().unwrap();
        for key in ["cpu_fit", "weight_bytes", "needed_bytes"] {
            top.remove(key);
        }
        top["points"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["backend"] == "gpu");
        for p in top["points"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("backend");
        }
        let ctx = top["context"].as_object_mut().unwrap();
        for key in ["cpu_threads", "cpu_simd"] {
            ctx.remove(key);
        }
        ctx["settings"].as_object_mut().unwrap().remove("backends");
        let r = Report::from_json(&old.to_string()).unwrap();
        assert_eq!(r.engines.keys().collect::<Vec<_>>(), [&Backend::Gpu]);
        assert_eq!(r.fits.keys().collect::<Vec<_>>(), [&Backend::Gpu]);
        let memory = r.engines[&Backend::Gpu].memory.unwrap();
        assert_eq!((memory.weight_bytes, memory.needed_bytes), (0, 0));
        assert!(r.points.iter().all(|p| p.backend == Backend::Gpu));
    }

    #[test]
    fn other_schemas_are_refused_by_name() {
        let e = Report::from_json(r#"{"schema": "paraformer-bench/9"}"#).unwrap_err();
        let e = e.to_string();
        assert!(e.contains("schema 'paraformer-bench/9'"), "{e}");
        assert!(
            e.contains("paraformer-bench/2") && e.contains("paraformer-bench/1"),
            "{e}"
        );
    }
}
