//! The page's words in Chinese and English.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// Every string the page shows, in one language.
pub struct Words {
    pub title: &'static str,
    pub subtitle: &'static str,
    pub privacy: &'static str,
    pub disclaimer: &'static str,
    pub switch_to: &'static str,
    pub input_label: &'static str,
    pub placeholder: &'static str,
    pub classify: &'static str,
    pub clear: &'static str,
    pub shortcut: &'static str,
    pub loading: &'static str,
    pub backend: &'static str,
    /// Why this backend: asked for; no WebGPU; a software adapter (`{adapter}`); measuring;
    /// WebGPU slower (`{ratio}`); WebGPU faster (`{ratio}`); a canary mismatch; WebGPU failed.
    pub whys: [&'static str; 9],
    /// The service worker has stored the app and the model.
    pub offline_ready: &'static str,
    pub load_failed: &'static str,
    /// What went wrong with model file `{file}`: it did not download, its checksum is wrong,
    /// it is not a valid file of its kind.
    pub load_faults: [&'static str; 3],
    pub technical_detail: &'static str,
    pub worker_crashed: &'static str,
    pub level: &'static str,
    pub bands: [&'static str; 4],
    pub high: &'static str,
    pub low: &'static str,
    pub risk_call: &'static str,
    /// The answer when the heads or the safety net disagree with "low" (src/assessment.rs).
    pub review: &'static str,
    /// Why: the heads disagree; a suicidal wish without a plan; a phrase (`{phrase}`) of the
    /// safety net.
    pub review_reasons: [&'static str; 3],
    pub p_high: &'static str,
    pub uncertain: &'static str,
    pub distribution: &'static str,
    pub drivers: &'static str,
    pub drivers_help: &'static str,
    pub truncated: &'static str,
    /// A long text read in `{n}` windows; characters `{from}`–`{to}` decided the result.
    pub windowed: &'static str,
    pub empty_text: &'static str,
    pub box_full: &'static str,
    pub crisis_title: &'static str,
    pub crisis_lines: [&'static str; 4],
    pub crisis_note: &'static str,
    pub batch_title: &'static str,
    pub batch_help: &'static str,
    pub batch_running: &'static str,
    pub cancel: &'static str,
    pub export: &'static str,
    pub row: &'static str,
    pub text: &'static str,
    pub error: &'static str,
    pub showing: &'static str,
    pub cancelled: &'static str,
    pub not_assessed: &'static str,
    /// How the file was read: `{encoding}`, `{rows}` rows, sheet `{sheet}`.
    pub file_read: &'static str,
    pub file_read_sheet: &'static str,
    pub sheet: &'static str,
    pub text_column: &'static str,
    pub choose_text_column: &'static str,
    pub author_column: &'static str,
    pub no_author: &'static str,
    pub people_title: &'static str,
    /// Author, posts, highest level, highest P(high), high-risk posts, flagged posts.
    pub people_columns: [&'static str; 6],
    pub export_people: &'static str,
    /// A text the model could not assess: not loaded, unreadable, model failure.
    pub failures: [&'static str; 3],
    /// Reading a file failed (see `table::TableError`); `{file}`, `{line}`, `{columns}`,
    /// `{column}`, `{sheet}`, `{sheets}` are filled in.
    pub table_errors: [&'static str; 7],
    pub levels: [&'static str; 11],
}

pub const ZH: Words = Words {
    title: "sosrisk 自杀风险筛查",
    subtitle: "估计一条中文社交媒体帖子作者的自杀风险：0–10 级与高/低风险。",
    privacy: "隐私：文本只在本设备的浏览器中处理，不会上传、不会保存。",
    disclaimer: "这是供受过训练的人员使用的筛查辅助工具，不是诊断。模型会出错。",
    switch_to: "English",
    input_label: "帖子文本",
    placeholder: "在此粘贴或输入帖子……",
    classify: "评估",
    clear: "清除",
    shortcut: "Ctrl+Enter 评估",
    loading: "正在加载模型",
    backend: "计算方式",
    offline_ready: "已可离线使用",
    whys: [
        "按网址参数指定",
        "浏览器不提供 WebGPU",
        "只有软件渲染的 WebGPU（{adapter}），不自动使用",
        "正在测量 WebGPU 是否更快……",
        "在本设备上 WebGPU 比 CPU 慢 {ratio} 倍",
        "在本设备上 WebGPU 比 CPU 快 {ratio} 倍",
        "WebGPU 的结果与 CPU 不一致，不使用",
        "WebGPU 无法使用",
        "在本设备上 WebGPU 只快 {ratio} 倍，不足以切换",
    ],
    load_failed: "模型无法加载",
    load_faults: [
        "模型文件 {file} 下载失败。请检查网络连接，然后刷新页面。",
        "模型文件 {file} 已损坏或属于另一个模型（校验和不符）。请刷新页面；若仍失败，请联系网站维护者。",
        "模型文件 {file} 无效，无法读取。请联系网站维护者。",
    ],
    technical_detail: "技术细节",
    worker_crashed: "模型进程意外停止，正在重新启动。请再试一次。",
    level: "风险等级",
    bands: ["低", "中", "高", "严重"],
    high: "高风险",
    low: "低风险",
    review: "需人工复核",
    review_reasons: [
        "风险等级与高/低风险判断不一致，请人工判断。",
        "文中表达了自杀意愿，但没有具体计划，请人工复核。",
        "文中有明确的风险表述：“{phrase}”。无论模型如何判断，都请人工复核。",
    ],
    risk_call: "二分类判断",
    p_high: "高风险概率",
    uncertain: "不确定：模型没有把握，请人工复核。",
    distribution: "各等级概率",
    drivers: "影响评分的字",
    drivers_help: "颜色越深，去掉该字后高风险概率下降越多。",
    truncated: "文本过长，只读取了前 {n} 个字。",
    windowed: "长文本分 {n} 段读取；结果来自风险最高的一段：第 {from}–{to} 个字（下方已标出）。",
    empty_text: "文本为空：去掉空白和不可见字符后没有可评估的内容。",
    box_full: "文本框最多容纳 {n} 个字符，超出的部分没有粘贴进来。",
    crisis_title: "如有危险，请立即求助",
    crisis_lines: [
        "全国心理援助热线：12356",
        "青少年服务台：12355",
        "紧急情况：报警 110，急救 120",
        "北京心理危机研究与干预中心：010-82951332",
    ],
    crisis_note: "本工具只是筛查辅助，不能替代专业评估。",
    batch_title: "批量评估",
    batch_help: "选择本地文件：CSV、TSV、TXT（UTF-8、UTF-16 或 GBK/GB18030 编码，每行一条或带表头的表格）或 Excel 工作簿（.xlsx）。文件不会离开本设备。",
    batch_running: "正在评估",
    cancel: "取消",
    export: "导出 CSV",
    row: "行",
    text: "文本",
    error: "错误",
    showing: "显示 {total} 行中的前 {n} 行；导出包含全部。",
    cancelled: "已取消：{total} 行中已评估 {done} 行；导出中其余行标为未评估。",
    not_assessed: "未评估（已取消）",
    file_read: "已读取 {rows} 行（{encoding}）。",
    file_read_sheet: "已读取工作表“{sheet}”的 {rows} 行。",
    sheet: "工作表",
    text_column: "文本列",
    choose_text_column: "文件中没有名为 text 的列：请选择要评估的文本列。",
    author_column: "作者列（按人汇总）",
    no_author: "（不汇总）",
    people_title: "按人汇总",
    people_columns: [
        "作者",
        "帖子数",
        "最高等级",
        "最高高风险概率",
        "高风险帖子",
        "需关注帖子",
    ],
    export_people: "导出按人汇总",
    failures: [
        "模型尚未加载，无法评估。",
        "无法读取这段文本。",
        "模型无法计算这段文本。",
    ],
    table_errors: [
        "{file} 第 {line} 行：不是 UTF-8、UTF-16（带 BOM）或 GB18030 编码的文本。请另存为 UTF-8 或 Excel 工作簿。",
        "{file} 第 {line} 行：格式有误（请检查引号）。",
        "{file}：无法读取这个工作簿。",
        "{file}：没有名为“{sheet}”的工作表（有：{sheets}）。",
        "{file}：没有名为 text 的列，请选择文本列（表头：{columns}）。",
        "{file}：没有名为“{column}”的列（表头：{columns}）。",
        "{file}：没有任何行。",
    ],
    levels: [
        "仅日常负面情绪",
        "有一些存在性痛苦",
        "明显的存在性痛苦",
        "强烈的存在性痛苦，无自杀意愿",
        "有自杀意愿，无方法或计划",
        "强烈自杀意愿，方法不明",
        "正在计划自杀，日期不明",
        "已决定方法，日期不明",
        "已有计划，日期大致确定",
        "已决定方法，可能数日内行动",
        "自杀可能正在进行",
    ],
};

pub const EN: Words = Words {
    title: "sosrisk suicide-risk screening",
    subtitle: "Estimates the suicide risk of the author of a Chinese social-media post: level 0–10 and high/low.",
    privacy: "Privacy: the text is processed only in this browser, on this device. It is never uploaded or stored.",
    disclaimer: "A screening aid for trained people, not a diagnosis. The model makes mistakes.",
    switch_to: "中文",
    input_label: "Post text",
    placeholder: "Paste or type a post here…",
    classify: "Assess",
    clear: "Clear",
    shortcut: "Ctrl+Enter to assess",
    loading: "Loading the model",
    backend: "Running on",
    offline_ready: "works offline now",
    whys: [
        "as the address asks",
        "the browser gives no WebGPU",
        "WebGPU here is a software renderer ({adapter}); not used automatically",
        "measuring whether WebGPU is faster…",
        "WebGPU was {ratio}× slower on this device",
        "WebGPU was {ratio}× faster on this device",
        "WebGPU's results differ from the CPU's; not used",
        "WebGPU could not be used",
        "WebGPU was only {ratio}× faster on this device: not enough to switch",
    ],
    load_failed: "The model could not be loaded",
    load_faults: [
        "The model file {file} did not download. Check the connection, then reload the page.",
        "The model file {file} is corrupt or belongs to another model (its checksum does not match). Reload the page; if it still fails, tell the site's maintainer.",
        "The model file {file} is not valid and cannot be read. Tell the site's maintainer.",
    ],
    technical_detail: "Technical detail",
    worker_crashed: "The model worker stopped unexpectedly and is restarting. Please try again.",
    level: "Risk level",
    bands: ["low", "moderate", "high", "severe"],
    high: "High risk",
    low: "Low risk",
    review: "Review",
    review_reasons: [
        "The risk level and the high/low call disagree: judge it yourself.",
        "The text expresses a wish to die without a plan: review it.",
        "The text states risk outright: “{phrase}”. Review it, whatever the model says.",
    ],
    risk_call: "Binary call",
    p_high: "P(high risk)",
    uncertain: "Uncertain: the model is not confident. Review manually.",
    distribution: "Probability of each level",
    drivers: "Characters that drove the score",
    drivers_help: "The darker, the more P(high risk) drops without that character.",
    truncated: "Very long text: only the first {n} characters were read.",
    windowed: "Long text read in {n} parts; the result is the riskiest part, characters {from}–{to} (marked below).",
    empty_text: "Empty text: there is nothing to classify (after removing whitespace and invisible characters).",
    box_full: "The box holds at most {n} characters; anything beyond that was not pasted.",
    crisis_title: "If someone is in danger, get help now",
    crisis_lines: [
        "National mental-health hotline: 12356",
        "Youth service line: 12355",
        "Emergency: police 110, ambulance 120",
        "Beijing Psychological Crisis Center: 010-82951332",
    ],
    crisis_note: "This tool is a screening aid and does not replace a professional assessment.",
    batch_title: "Batch",
    batch_help: "Choose a local file: CSV, TSV or TXT (UTF-8, UTF-16 or GBK/GB18030; one post per line, or a table with a header) or an Excel workbook (.xlsx). The file never leaves this device.",
    batch_running: "Assessing",
    cancel: "Cancel",
    export: "Export CSV",
    row: "Row",
    text: "Text",
    error: "Error",
    showing: "Showing the first {n} of {total} rows; the export has all of them.",
    cancelled: "Cancelled: {done} of {total} rows assessed; the export marks the rest as not assessed.",
    not_assessed: "not assessed (cancelled)",
    file_read: "Read {rows} rows ({encoding}).",
    file_read_sheet: "Read {rows} rows of sheet “{sheet}”.",
    sheet: "Sheet",
    text_column: "Text column",
    choose_text_column: "The file has no column named text: choose the column to assess.",
    author_column: "Author column (summary per person)",
    no_author: "(none)",
    people_title: "Per person",
    people_columns: [
        "Author",
        "Posts",
        "Highest level",
        "Highest P(high risk)",
        "High-risk posts",
        "Flagged posts",
    ],
    export_people: "Export per person",
    failures: [
        "The model is not loaded yet.",
        "This text could not be read.",
        "The model could not compute this text.",
    ],
    table_errors: [
        "{file}, line {line}: not text in UTF-8, UTF-16 (with a BOM) or GB18030. Save it as UTF-8 or as an Excel workbook.",
        "{file}, line {line}: malformed (check the quoting).",
        "{file}: the workbook cannot be read.",
        "{file}: no sheet named “{sheet}” (it has: {sheets}).",
        "{file}: no column named text; choose the text column (the header has: {columns}).",
        "{file}: no column named “{column}” (the header has: {columns}).",
        "{file}: no rows.",
    ],
    levels: crate::labels::LEVEL_DESCRIPTIONS,
};

impl Lang {
    pub fn words(self) -> &'static Words {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

impl Words {
    /// The sentence that explains a failed load in this language; `None` when no one file is at
    /// fault (the technical detail is all there is to say).
    pub fn load_fault(&self, e: &crate::web::protocol::LoadError) -> Option<String> {
        use crate::web::protocol::LoadFault;
        let i = match e.fault {
            LoadFault::Download => 0,
            LoadFault::Corrupt => 1,
            LoadFault::Invalid => 2,
            LoadFault::Other => return None,
        };
        Some(self.load_faults[i].replace("{file}", &e.file))
    }

    /// The band's word for a level (same cut points as [`crate::labels::band`]).
    pub fn band(&self, level: usize) -> &'static str {
        match crate::labels::band(level) {
            "low" => self.bands[0],
            "moderate" => self.bands[1],
            "high" => self.bands[2],
            _ => self.bands[3],
        }
    }
}

impl Words {
    /// The answer for a call, in this language.
    pub fn call(&self, call: crate::assessment::Call) -> &'static str {
        match call {
            crate::assessment::Call::High => self.high,
            crate::assessment::Call::Review => self.review,
            crate::assessment::Call::Low => self.low,
        }
    }

    /// Why the answer is "review", in this language (none for agreeing heads).
    pub fn reason(&self, reason: crate::assessment::Reason, phrase: Option<&str>) -> Option<String> {
        use crate::assessment::Reason;
        match reason {
            Reason::Agree => None,
            Reason::HeadsDisagree => Some(self.review_reasons[0].into()),
            Reason::WishWithoutPlan => Some(self.review_reasons[1].into()),
            Reason::Phrase => Some(self.review_reasons[2].replace("{phrase}", phrase.unwrap_or(""))),
        }
    }
}

impl Words {
    /// Why one text could not be assessed, in this language.
    pub fn failure(&self, f: &crate::web::protocol::Failure) -> &'static str {
        use crate::web::protocol::Failure;
        match f {
            Failure::NotLoaded => self.failures[0],
            Failure::Unreadable { .. } => self.failures[1],
            Failure::Model { .. } => self.failures[2],
        }
    }

    /// Why a file could not be read, in this language.
    pub fn table_error(&self, e: &crate::table::TableError) -> String {
        use crate::table::TableError as E;
        let (k, file) = match e {
            E::NotText { file, .. } => (0, file),
            E::Malformed { file, .. } => (1, file),
            E::Workbook { file, .. } => (2, file),
            E::NoSheet { file, .. } => (3, file),
            E::NoTextColumn { file, .. } => (4, file),
            E::NoSuchColumn { file, .. } => (5, file),
            E::Empty { file } => (6, file),
        };
        let mut s = self.table_errors[k].replace("{file}", file);
        match e {
            E::Malformed { line, .. } => s = s.replace("{line}", &line.to_string()),
            E::NotText { line, .. } => s = s.replace("{line}", &line.to_string()),
            E::NoSheet { sheet, sheets, .. } => {
                s = s
                    .replace("{sheet}", sheet)
                    .replace("{sheets}", &sheets.join(", "))
            }
            E::NoTextColumn { columns, .. } => s = s.replace("{columns}", &columns.join(", ")),
            E::NoSuchColumn { column, columns, .. } => {
                s = s
                    .replace("{column}", column)
                    .replace("{columns}", &columns.join(", "))
            }
            _ => {}
        }
        s
    }
}

impl Words {
    /// Why the model runs where it does, in this language.
    pub fn why(&self, why: &crate::web::protocol::Why) -> String {
        use crate::web::protocol::Why;
        match why {
            Why::Asked => self.whys[0].into(),
            Why::NoWebGpu => self.whys[1].into(),
            Why::SoftwareAdapter { adapter } => self.whys[2].replace("{adapter}", adapter),
            Why::Measuring => self.whys[3].into(),
            // "Slower by 3.1×": the GPU's time over the CPU's; "faster by 2×": the inverse.
            Why::Slower { ratio } if *ratio < 1.0 => {
                self.whys[8].replace("{ratio}", &format!("{:.1}", 1.0 / ratio.max(1e-9)))
            }
            Why::Slower { ratio } => self.whys[4].replace("{ratio}", &format!("{ratio:.1}")),
            Why::Faster { ratio } => {
                self.whys[5].replace("{ratio}", &format!("{:.1}", 1.0 / ratio.max(1e-9)))
            }
            Why::Mismatch { .. } => self.whys[6].into(),
            Why::Failed { .. } => self.whys[7].into(),
        }
    }
}
