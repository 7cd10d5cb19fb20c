//! One file per op, named after its shader: the op's typed `Params` (the bytes of its
//! shader's `struct Params`), its shape checks, its variants and the builder of its `Step`.
//! An op imports only the plan's vocabulary (`step`), never the planner or another op.
//!
//! Adding a variant: a `// #if NAME` block in the shader, the defines or override
//! constants that select it in the op's `Kernel`, and the name in its `Shader::variants`
//! (which the naga test validates).

pub mod attention;
pub mod branch_sum;
pub mod layer_norm;
pub mod linear;
pub mod linear_sum;
pub mod patch_embed;
pub mod peak;

/// A WGSL file and what the Rust side knows of it.
#[derive(Clone, Copy, Debug)]
pub struct Shader {
    pub op: &'static str,
    pub source: &'static str,
    /// Every set of defines a variant of the op compiles with.
    pub variants: &'static [&'static [&'static str]],
    /// The members of the Rust `Params`, which must equal the shader's `struct Params`.
    pub params: &'static [Field],
    pub params_size: usize,
}

/// One member of a `Params` struct: name, scalar type ("u32", "f32") and byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: &'static str,
    pub offset: usize,
}

/// Declares an op's `Params`: a `#[repr(C)]` plain-data struct of 32-bit scalars (WGSL's
/// uniform layout packs those like C) and the list of its fields for the layout test.
macro_rules! params {
    ($(#[$meta:meta])* pub struct Params { $($(#[$fmeta:meta])* $name:ident: $ty:ident,)* }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct Params {
            $($(#[$fmeta])* pub $name: $ty,)*
        }

        impl Params {
            pub const FIELDS: &'static [$crate::engine::ops::Field] = &[$(
                $crate::engine::ops::Field {
                    name: stringify!($name),
                    ty: stringify!($ty),
                    offset: std::mem::offset_of!(Params, $name),
                },
            )*];

            pub fn bytes(&self) -> Vec<u8> {
                bytemuck::bytes_of(self).to_vec()
            }
        }
    };
}
pub(crate) use params;

/// `Shader` of an op file: `shader!("linear", [&[], &["SCALAR"]])`.
macro_rules! shader {
    ($op:literal, $variants:expr) => {
        pub const SHADER: $crate::engine::ops::Shader = $crate::engine::ops::Shader {
            op: $op,
            source: include_str!(concat!("../../../shaders/", $op, ".wgsl")),
            variants: &$variants,
            params: Params::FIELDS,
            params_size: std::mem::size_of::<Params>(),
        };
    };
}
pub(crate) use shader;
