//! Finding an adapter and opening a device: asks for timestamp queries when the adapter
//! offers them and for the adapter's own limits, and explains what to do when there is
//! no usable adapter.

use serde::{Deserialize, Serialize};

use crate::Error;

/// What a user needs to know about the adapter a figure was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub timestamps: bool,
    /// Timestamps between the dispatches of a pass (native only): per-op profiles.
    pub timestamps_inside_passes: bool,
    pub max_storage_binding_bytes: u64,
    pub max_buffer_bytes: u64,
    pub max_workgroups_per_dim: u32,
    pub max_invocations_per_workgroup: u32,
    pub max_workgroup_storage_bytes: u32,
    pub max_storage_buffers_per_stage: u32,
}

/// An open device and its queue, with what was granted.
#[derive(Clone, Debug)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub summary: AdapterSummary,
}

/// How to get an adapter, for error messages.
#[cfg(not(target_arch = "wasm32"))]
const NO_ADAPTER_HELP: &str = "install your GPU's Vulkan, Metal or DirectX driver, or run on the CPU with \
     Mesa's lavapipe (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1)";
#[cfg(target_arch = "wasm32")]
const NO_ADAPTER_HELP: &str = "open the page in a browser with WebGPU (Chrome or Edge 113+, Safari 26+, \
     Firefox 141+ on Windows), or enable it (chrome://flags/#enable-unsafe-webgpu)";

impl Gpu {
    /// Opens the default (high-performance) adapter.
    pub async fn new() -> Result<Gpu, Error> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("no GPU adapter found ({e}): {NO_ADAPTER_HELP}")))?;
        Gpu::from_adapter(&adapter).await
    }

    /// Opens a device on `adapter` with timestamp queries (when offered) and the adapter's limits.
    pub async fn from_adapter(adapter: &wgpu::Adapter) -> Result<Gpu, Error> {
        let info = adapter.get_info();
        let caps = adapter.get_downlevel_capabilities();
        if !caps.flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
            return Err(Error::Gpu(format!(
                "adapter '{}' ({:?}) has no compute shaders, which this model needs: {NO_ADAPTER_HELP}",
                info.name, info.backend
            )));
        }
        // Timestamps inside passes (native only) give the per-op profile its finest method.
        let features = adapter.features()
            & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("paraformer"),
                required_features: features,
                required_limits: adapter.limits(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::Gpu(format!("adapter '{}' refused a device: {e}", info.name)))?;
        Ok(Gpu::from_device(device, queue, info))
    }

    /// Wraps a device someone else opened (e.g. the UI's renderer).
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Gpu {
        let limits = device.limits();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            timestamps: device.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            timestamps_inside_passes: device
                .features()
                .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_workgroup_storage_bytes: limits.max_compute_workgroup_storage_size,
            max_storage_buffers_per_stage: limits.max_storage_buffers_per_shader_stage,
        };
        Gpu {
            device,
            queue,
            info,
            summary,
        }
    }
}
