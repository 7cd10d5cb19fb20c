//! Records the git commit the binary was built from, for benchmark reports, and reruns (so the
//! crate recompiles) when the checkout that builds into a shared target directory changes.

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    // scripts/dev.sh builds every checkout of a machine into one target directory and names the
    // checkout here: another checkout's build then recompiles this crate instead of trusting
    // file times that belong to different sources.
    println!("cargo:rerun-if-env-changed=PARAFORMER_CHECKOUT");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok());
    if let Some(c) = commit {
        println!("cargo:rustc-env=PARAFORMER_GIT_COMMIT={}", c.trim());
    }
}
