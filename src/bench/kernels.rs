//! Which kernel variant each op ran in a sweep, per (op, mode, shape), and why: the
//! report's `kernels` list, the lines under the bench table and the report's section.

use serde::{Deserialize, Serialize};

use crate::engine::choice::{Pick, Shape};
use crate::model::Mode;

/// One (op, mode, shape) of a sweep and the variant it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelUse {
    /// "linear", "layer_norm", "attention".
    pub op: String,
    pub mode: Mode,
    pub shape: Shape,
    /// As `--kernel` spells it, e.g. "9x16/16".
    pub variant: String,
    /// "heuristic" or "forced".
    pub source: String,
}

/// Adds the picks of one run to `uses`, each (op, mode, shape) once.
pub fn record(uses: &mut Vec<KernelUse>, picks: &[Pick]) {
    for p in picks {
        let u = KernelUse {
            op: p.key.op.name().to_string(),
            mode: p.key.mode,
            shape: p.key.shape,
            variant: p.choice.variant.to_string(),
            source: p.choice.source.name().to_string(),
        };
        let same = |o: &KernelUse| o.op == u.op && o.mode == u.mode && o.shape == u.shape;
        if !uses.iter().any(same) {
            uses.push(u);
        }
    }
}

/// One line per (op, mode, variant, source) with the shapes that ran it, ops in plan
/// order: "linear, serial: 9x16/16 (heuristic) for 65x384x128 z1, 65x128x128 z1".
pub fn lines(uses: &[KernelUse]) -> Vec<String> {
    let mut groups: Vec<(&str, Mode, &str, &str, Vec<Shape>)> = Vec::new();
    for u in uses {
        let key = (u.op.as_str(), u.mode, u.variant.as_str(), u.source.as_str());
        match groups.iter_mut().find(|g| (g.0, g.1, g.2, g.3) == key) {
            Some(g) => g.4.push(u.shape),
            None => groups.push((key.0, key.1, key.2, key.3, vec![u.shape])),
        }
    }
    groups
        .into_iter()
        .map(|(op, mode, variant, source, mut shapes)| {
            shapes.sort();
            let shapes: Vec<String> = shapes.iter().map(Shape::to_string).collect();
            format!(
                "{op}, {}: {variant} ({source}) for {}",
                mode.name(),
                shapes.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::choice::{Choice, Key, Op, Source, Variant};
    use crate::engine::ops::linear;

    fn pick(op: Op, mode: Mode, nz: usize, group: u32, source: Source) -> Pick {
        Pick {
            key: Key {
                op,
                mode,
                shape: Shape {
                    rows: 65,
                    n: 384,
                    k: 128,
                    nz,
                },
            },
            choice: Choice {
                variant: Variant::Linear(linear::Variant::new(linear::Block::B9x16, group)),
                source,
            },
        }
    }

    #[test]
    fn each_key_is_recorded_once_and_lines_group_shapes_by_choice() {
        let mut uses = Vec::new();
        let a = pick(Op::Linear, Mode::Parallel, 4, 16, Source::Heuristic);
        let b = pick(Op::Linear, Mode::Parallel, 2, 16, Source::Heuristic);
        let c = pick(Op::Linear, Mode::Serial, 1, 64, Source::Forced);
        record(&mut uses, &[a, a, b]);
        record(&mut uses, &[a, c]);
        assert_eq!(uses.len(), 3);
        assert_eq!(uses[2].source, "forced");
        assert_eq!(uses[2].variant, "9x16/64");
        assert_eq!(
            lines(&uses),
            [
                "linear, parallel: 9x16/16 (heuristic) for 65x384x128 z2, 65x384x128 z4",
                "linear, serial: 9x16/64 (forced) for 65x384x128 z1",
            ]
        );
        let json = serde_json::to_string(&uses[0]).unwrap();
        assert!(
            json.contains(r#""shape":{"rows":65,"n":384,"k":128,"nz":4}"#),
            "{json}"
        );
    }
}
