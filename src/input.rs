//! Input images: a safetensors file with one tensor `image` [C, H, W] (already
//! normalised), or a PNG/JPEG picture decoded, resized and normalised as the
//! reference training did: (pixel / 255 - 0.5) / 0.2.

use crate::Error;
use crate::model::{Config, safetensors};

/// The reference training's normalisation of an 8-bit pixel.
pub fn normalise_pixel(p: u8) -> f32 {
    (p as f32 / 255.0 - 0.5) / 0.2
}

/// Checks an image [C, H, W] against the model: size and finiteness.
pub fn check(config: &Config, image: &[f32]) -> Result<(), Error> {
    if image.len() != config.image_len() {
        return Err(Error::Input(format!(
            "image has {} values, the model needs {} ({}x{}x{}: channels x height x width)",
            image.len(),
            config.image_len(),
            config.channels,
            config.image_height,
            config.image_width
        )));
    }
    if let Some(i) = image.iter().position(|v| !v.is_finite()) {
        return Err(Error::Input(format!(
            "image value {i} is {}: inputs must be finite numbers",
            image[i]
        )));
    }
    Ok(())
}

/// Reads an input from file bytes, telling picture formats from safetensors by their magic bytes.
pub fn from_bytes(config: &Config, bytes: &[u8]) -> Result<Vec<f32>, Error> {
    let is_png = bytes.starts_with(b"\x89PNG");
    let is_jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    let image = if is_png || is_jpeg {
        from_picture(config, bytes)?
    } else {
        from_safetensors(config, bytes)?
    };
    check(config, &image)?;
    Ok(image)
}

fn from_safetensors(config: &Config, bytes: &[u8]) -> Result<Vec<f32>, Error> {
    let file = safetensors::parse(bytes).map_err(|e| {
        Error::Input(format!(
            "input is neither a PNG/JPEG picture nor a safetensors file ({})",
            e.message()
        ))
    })?;
    let t = file.tensors.get("image").ok_or_else(|| {
        let names: Vec<&str> = file.tensors.keys().map(String::as_str).collect();
        Error::Input(format!(
            "input file has no tensor 'image' (it has: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
    })?;
    let want = [config.channels, config.image_height, config.image_width];
    if t.shape != want {
        return Err(Error::Input(format!(
            "input tensor 'image' has shape {:?}, the model needs {want:?} (channels, height, width)",
            t.shape
        )));
    }
    // Raw 8-bit pixels are normalised as pictures are; float tensors are taken as they are.
    if t.dtype == safetensors::Dtype::U8 {
        return Ok(t.data.iter().map(|&p| normalise_pixel(p)).collect());
    }
    Ok(t.to_f32())
}

/// Decodes a picture, converts it to the model's channel count (1: grey, 3: RGB),
/// resizes it to the model's input size and normalises it; layout [C, H, W].
pub fn from_picture(config: &Config, bytes: &[u8]) -> Result<Vec<f32>, Error> {
    let img = image::load_from_memory(bytes)
        .map_err(|e| Error::Input(format!("cannot decode the picture: {e}")))?;
    let (w, h) = (config.image_width as u32, config.image_height as u32);
    let img = img.resize_exact(w, h, image::imageops::FilterType::Triangle);
    let plane = (w * h) as usize;
    let mut out = vec![0.0; config.image_len()];
    match config.channels {
        1 => {
            for (o, p) in out.iter_mut().zip(img.to_luma8().pixels()) {
                *o = normalise_pixel(p[0]);
            }
        }
        3 => {
            for (i, p) in img.to_rgb8().pixels().enumerate() {
                for c in 0..3 {
                    out[c * plane + i] = normalise_pixel(p[c]);
                }
            }
        }
        n => {
            return Err(Error::Input(format!(
                "pictures can feed models with 1 (grey) or 3 (RGB) channels, this model has {n}: \
                 give a safetensors 'image' tensor instead"
            )));
        }
    }
    Ok(out)
}

/// Writes an image [C, H, W] as a safetensors input file.
pub fn to_safetensors(config: &Config, image: &[f32]) -> Vec<u8> {
    let shape = vec![config.channels, config.image_height, config.image_width];
    safetensors::write(
        &[("image".to_string(), shape, image)],
        &Default::default(),
        safetensors::Dtype::F32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::seeded_image;

    #[test]
    fn safetensors_input_round_trip_and_errors() {
        let c = Config::preset("mnist").unwrap();
        let img = seeded_image(&c, 2);
        assert_eq!(from_bytes(&c, &to_safetensors(&c, &img)).unwrap(), img);
        let cifar = Config::preset("cifar").unwrap();
        let e = from_bytes(&cifar, &to_safetensors(&c, &img))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("shape [1, 28, 28], the model needs [3, 32, 32]"),
            "{e}"
        );
        let mut nan = img.clone();
        nan[5] = f32::NAN;
        let e = from_bytes(&c, &to_safetensors(&c, &nan))
            .unwrap_err()
            .to_string();
        assert!(e.contains("image value 5 is NaN"), "{e}");
        let e = from_bytes(&c, b"GIF89a....").unwrap_err().to_string();
        assert!(
            e.contains("neither a PNG/JPEG picture nor a safetensors file"),
            "{e}"
        );
    }

    #[test]
    fn png_is_resized_and_normalised() {
        let mut png = Vec::new();
        let pic = image::RgbImage::from_fn(8, 8, |x, _| image::Rgb([255, (x * 30) as u8, 0]));
        pic.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let mut c = Config::preset("cifar").unwrap();
        c.image_height = 16;
        c.image_width = 16;
        let x = from_bytes(&c, &png).unwrap();
        assert_eq!(x.len(), 3 * 16 * 16);
        assert!(
            (x[0] - normalise_pixel(255)).abs() < 1e-6,
            "red plane is saturated"
        );
        assert!(
            (x[2 * 256] - normalise_pixel(0)).abs() < 1e-6,
            "blue plane is empty"
        );
        let e = from_bytes(&c, &png[..40]).unwrap_err().to_string();
        assert!(e.contains("cannot decode the picture"), "{e}");
    }
}
