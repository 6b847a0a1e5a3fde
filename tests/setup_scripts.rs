//! The set-up scripts' decisions (scripts/needs.sh), on faked machines: what each one would
//! install given which commands and files are present. A fresh machine is not needed to test
//! that a NodeSource Node.js never gets Debian's `npm` asked for beside it.

use std::process::Command;

/// Runs `script` in bash after sourcing scripts/needs.sh with `have_command`/`have_file`
/// answering yes only for `commands`/`files`, and returns its standard output.
fn on_machine(commands: &[&str], files: &[&str], script: &str) -> String {
    let fake = format!(
        "source scripts/needs.sh
have_command() {{ case \" {} \" in *\" $1 \"*) return 0;; esac; return 1; }}
have_file() {{ case \" {} \" in *\" $1 \"*) return 0;; esac; return 1; }}
have_command_pip() {{ have_command pip; }}
have_venv() {{ have_command venv; }}
{script}",
        commands.join(" "),
        files.join(" ")
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(fake)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SOSRISK_SETUP_DRY_RUN", "1")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn packages(commands: &[&str], need: &str) -> Vec<String> {
    on_machine(commands, &[], need)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn nodesource_or_nvm_node_gets_no_debian_npm() {
    // NodeSource's nodejs and nvm both put node and npm on PATH.
    assert!(packages(&["node", "npm"], "need_node").is_empty());
}

#[test]
fn debian_node_without_npm_gets_npm_only() {
    assert_eq!(packages(&["node"], "need_node"), ["npm"]);
}

#[test]
fn a_machine_without_node_gets_both() {
    assert_eq!(packages(&[], "need_node"), ["nodejs", "npm"]);
}

#[test]
fn chromium_its_driver_and_the_font_are_separate_needs() {
    assert_eq!(packages(&["chromium"], "need_chromium"), Vec::<String>::new());
    assert_eq!(packages(&["chromium"], "need_chromedriver"), ["chromium-driver"]);
    assert_eq!(packages(&[], "need_cjk_font"), ["fonts-wqy-zenhei"]);
}

#[test]
fn the_fresh_ci_machine_installs_each_missing_need_in_its_own_step() {
    // The CI image: Node.js 20 from NodeSource (with npm), no Chromium, no font.
    let out = on_machine(
        &["node", "npm"],
        &[],
        "install_needs web need_node need_chromium need_chromedriver need_cjk_font",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "would install (web, need_chromium): chromium",
            "would install (web, need_chromedriver): chromium-driver",
            "would install (web, need_cjk_font): fonts-wqy-zenhei",
        ]
    );
    assert!(!out.contains("nodejs") && !out.contains(" npm"));
}

#[test]
fn nothing_is_installed_where_everything_is_present() {
    let out = on_machine(
        &[
            "node",
            "npm",
            "chromium",
            "chromedriver",
            "cc",
            "pkg-config",
            "pip",
            "venv",
        ],
        &[
            "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
            "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json",
            "/usr/lib/x86_64-linux-gnu/libvulkan.so.1",
        ],
        "install_needs all need_node need_chromium need_chromedriver need_cjk_font need_vulkan \
         need_c_toolchain need_pip need_venv",
    );
    assert_eq!(out, "");
}

#[test]
fn cargo_tools_are_installed_only_at_the_wrong_or_no_version() {
    let script = |version: &str| {
        format!(
            "trunk() {{ echo 'trunk {version}'; }}
             if cargo_install_needed trunk 0.22.1 trunk; then echo install; else echo keep; fi"
        )
    };
    assert_eq!(on_machine(&["trunk"], &[], &script("0.22.1")).trim(), "keep");
    assert_eq!(on_machine(&["trunk"], &[], &script("0.21.4")).trim(), "install");
    assert_eq!(on_machine(&[], &[], &script("0.22.1")).trim(), "install");
}

#[test]
fn the_bench_setup_prints_only_the_interpreter_on_standard_output() {
    // bench/run.sh takes setup.sh's standard output as the interpreter's path: pip's log must
    // go elsewhere. An existing venv whose pins are all met is enough to check the contract.
    let dir = tempfile::tempdir().expect("tempdir");
    let venv = dir.path().join("venv");
    let bin = venv.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    // A stand-in interpreter that says every pin is met and that logs to stdout when asked to
    // install, as pip does.
    let python = bin.join("python");
    std::fs::write(
        &python,
        "#!/bin/sh\necho 'Collecting something (pip log)'\nexit 0\n",
    )
    .expect("write");
    let mut perms = std::fs::metadata(&python).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&python, perms).expect("chmod");
    let out = Command::new("bash")
        .arg("bench/setup.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SOSRISK_BENCH_VENV", &venv)
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).expect("utf-8").trim_end(),
        python.display().to_string()
    );
}
