//! Accuracy of a model on a labelled test set, computed by an engine in batches.

use super::Runner;
use crate::Error;
use crate::data::TestSet;
use crate::model::Mode;

/// Logits of every image of `set` ([N, classes]) with branches `0..branches`, in batches of
/// the engine's batch size (the last batch padded with blank images, their logits dropped).
/// `on_batch` gets the images done so far; returning false stops (the result is then None).
pub async fn logits(
    engine: &mut Runner,
    set: &TestSet,
    mode: Mode,
    branches: usize,
    mut on_batch: impl FnMut(usize) -> bool,
) -> Result<Option<Vec<f32>>, Error> {
    let c = engine.config().clone();
    set.check(&c)?;
    let batch = engine.batch();
    let image_len = c.image_len();
    let mut images = vec![0.0f32; batch * image_len];
    let mut out = Vec::with_capacity(set.len() * c.num_classes);
    for start in (0..set.len()).step_by(batch) {
        let n = batch.min(set.len() - start);
        for i in 0..batch {
            let dst = &mut images[i * image_len..(i + 1) * image_len];
            if i < n {
                dst.copy_from_slice(&set.image(start + i));
            } else {
                dst.fill(0.0);
            }
        }
        let logits = engine.run(mode, branches, &images).await?.logits;
        out.extend_from_slice(&logits[..n * c.num_classes]);
        if !on_batch(start + n) {
            return Ok(None);
        }
    }
    Ok(Some(out))
}
