//! The app's views, a file each (the tab bar's `Tab` picks one).

pub mod accuracy;
mod adapter;
pub mod classify;
pub mod latency;
mod live;
pub mod profile;
