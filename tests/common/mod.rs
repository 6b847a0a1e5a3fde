//! Synthetic posts written for the tests (no dataset text): each level draws from its own
//! phrases, so a model can learn something in a few epochs.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

const LOW: &[&str] = &[
    "今天上班好累",
    "考试没考好有点难过",
    "下雨了心情一般",
    "和朋友吵架了",
    "工作压力好大",
];
const MID: &[&str] = &[
    "活着好没意思",
    "觉得人生没有意义",
    "每天都很痛苦",
    "不知道为什么要活着",
    "好想消失",
];
const HIGH: &[&str] = &[
    "已经准备好药了",
    "决定下周就走",
    "遗书写好了",
    "今晚就结束一切",
    "买好了绳子",
];
const FILLER: &[&str] = &["唉", "真的", "。", "！", "…", "我", "吧", "呢"];

/// `n` synthetic rows `(id, text, level, binary)`; the same `seed` gives the same rows.
pub fn synthetic_rows(n: usize, seed: u64) -> Vec<(usize, String, usize, usize)> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let level = next() % 11;
            let pool = match level {
                0..=3 => LOW,
                4..=6 => MID,
                _ => HIGH,
            };
            let mut text = String::new();
            for _ in 0..1 + next() % 3 {
                text.push_str(pool[next() % pool.len()]);
                text.push_str(FILLER[next() % FILLER.len()]);
            }
            (i + 1, text, level, usize::from(level >= 6))
        })
        .collect()
}

/// Writes a labelled CSV with folds 0–4 and a test split (every fifth row).
pub fn write_csv(path: &Path, n: usize, seed: u64) {
    let mut out = String::from("id,text,level,binary,split,fold\n");
    for (id, text, level, binary) in synthetic_rows(n, seed) {
        let (split, fold) = if id % 5 == 0 {
            ("test", String::new())
        } else {
            ("train", (id % 5 - 1).to_string())
        };
        let _ = writeln!(out, "{id},{text},{level},{binary},{split},{fold}");
    }
    std::fs::write(path, out).unwrap();
}

/// The crate's directory, read when the test runs: test binaries can be reused from a shared
/// build cache by another checkout, and a path baked in at compile time would then point there.
pub fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// Whether a Vulkan driver is installed: wgpu runs natively only with one (lavapipe on CI).
pub fn vulkan_driver() -> bool {
    Path::new("/usr/share/vulkan/icd.d")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some())
}

/// A minimal .xlsx workbook: one sheet per `(name, rows)`, every cell an inline string.
pub fn write_xlsx(path: &Path, sheets: &[(&str, Vec<Vec<&str>>)]) {
    use std::io::Write;
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut put = |name: &str, body: String| {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    };
    let overrides: String = (1..=sheets.len())
        .map(|i| format!("<Override PartName=\"/xl/worksheets/sheet{i}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"))
        .collect();
    put(
        "[Content_Types].xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>{overrides}</Types>"
        ),
    );
    put("_rels/.rels", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>".into());
    let sheet_list: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            format!(
                "<sheet name=\"{}\" sheetId=\"{}\" r:id=\"rId{}\"/>",
                escape(name),
                i + 1,
                i + 1
            )
        })
        .collect();
    put(
        "xl/workbook.xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>{sheet_list}</sheets></workbook>"
        ),
    );
    let rels: String = (1..=sheets.len())
        .map(|i| format!("<Relationship Id=\"rId{i}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet{i}.xml\"/>"))
        .collect();
    put(
        "xl/_rels/workbook.xml.rels",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{rels}</Relationships>"
        ),
    );
    for (i, (_, rows)) in sheets.iter().enumerate() {
        let body: String = rows
            .iter()
            .enumerate()
            .map(|(r, cells)| {
                let cells: String = cells
                    .iter()
                    .enumerate()
                    .map(|(c, v)| {
                        format!(
                            "<c r=\"{}{}\" t=\"inlineStr\"><is><t>{}</t></is></c>",
                            (b'A' + c as u8) as char,
                            r + 1,
                            escape(v)
                        )
                    })
                    .collect();
                format!("<row r=\"{}\">{cells}</row>", r + 1)
            })
            .collect();
        put(
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{body}</sheetData></worksheet>"
            ),
        );
    }
    zip.finish().unwrap();
}
