//! `sluicegate rlnc bench` as a user runs it: the kernel it reports is the
//! one that ran, a forced kernel is honoured or refused with exit 2, and the
//! JSON lines carry the bounds and kernel figures.

use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluicegate"))
        .args(["rlnc", "bench", "--k", "4", "--symbol-size", "64", "--min-time-ms", "1"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn reports_the_kernel_it_ran_and_the_ones_available() {
    let out = bench(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("kernel backend: "), "{first}");
    let available = lines.next().unwrap().strip_prefix("available: ").unwrap().to_string();
    let best = available.split(", ").last().unwrap();
    assert!(
        first.starts_with(&format!("kernel backend: {best} (")),
        "{first} / {available}"
    );
    assert!(available.starts_with("portable"), "{available}");
}

#[test]
fn a_forced_kernel_runs_every_figure() {
    let out = bench(&["--kernel", "portable", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let reports: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reports.len(), 2, "{text}");
    for r in &reports {
        assert_eq!(r["kernel"], "portable", "{r}");
        assert!(r["encode_mb_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn an_unknown_kernel_is_bad_usage_naming_the_choices() {
    let out = bench(&["--kernel", "gfni1024"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("gfni1024") && err.contains("available: portable"), "{err}");
}

#[test]
fn kernel_figures_are_fractions_of_the_bounds() {
    let out = bench(&["--kernels", "--json", "--mode", "random"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let l1 = first["bounds"]["l1_copy_gb_s"].as_f64().unwrap();
    let kernels = first["kernels"].as_array().unwrap();
    assert!(kernels.len() >= 4, "{first}");
    for k in kernels {
        let gb_s = k["gb_s"].as_f64().unwrap();
        assert!(gb_s > 0.0, "{k}");
        let of_l1 = k["of_l1_copy"].as_f64().unwrap();
        assert!((of_l1 - gb_s / l1).abs() < 1e-9 * of_l1.max(1.0), "{k}");
        match first["bounds"]["gfni_peak_gb_s"].as_f64() {
            Some(peak) => assert!((k["of_gfni_peak"].as_f64().unwrap() - gb_s / peak).abs() < 1e-9, "{k}"),
            None => assert!(k["of_gfni_peak"].is_null(), "{k}"),
        }
    }
}
