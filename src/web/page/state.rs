//! The page's state and every transition of it, pure: an [`Action`] in, the new state and the
//! [`Effect`]s for the browser out. Nothing here touches the DOM, the worker or storage, so the
//! page's behaviour (which request goes out when, what a late reply may change, what clearing
//! forgets) is tested natively; `ui/app.rs` carries the effects out.

use crate::table::TableError;
use crate::table::export::PersonOrder;
use crate::text::is_blank;
use crate::web::batch::{Batch, SortKey};
use crate::web::i18n::Lang;
use crate::web::protocol::{KernelCounts, LoadError, LoadFault, ModelInfo, Outcome, Reply, Request};

/// The text box's `maxlength`, in UTF-16 units (about 1 MB of Chinese text; a long text is read
/// in windows, up to the model's bound).
pub const BOX_LIMIT: usize = 1_000_000;

/// Where the model is.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    Loading {
        file: String,
        loaded: f64,
        total: Option<f64>,
    },
    Ready(ModelInfo),
    Failed(LoadError),
}

impl ModelState {
    /// A new worker was started and asked for `config.json` first.
    pub fn starting() -> Self {
        Self::Loading {
            file: "config.json".into(),
            loaded: 0.0,
            total: None,
        }
    }

    /// The browser would not start a worker at all.
    pub fn no_worker(e: impl std::fmt::Display) -> Self {
        Self::Failed(LoadError::new(
            LoadFault::Other,
            "",
            format!("cannot start the model worker: {e}"),
        ))
    }
}

/// Why a chosen file gave no batch.
#[derive(Debug)]
pub enum BatchError {
    /// The browser could not read the file.
    Read(String),
    Table(TableError),
}

/// What the user or the worker did.
pub enum Action {
    Reply(Reply),
    /// The worker died (an error event, an unreadable reply, or its own panic report).
    WorkerCrashed(String),
    /// The browser refused to start a worker.
    NoWorker(String),
    /// The service worker has stored everything (or failed to): the page works offline.
    Stored(bool),
    Input(String),
    Classify,
    Clear,
    ToggleLang,
    /// A chosen file's bytes, or why the browser could not read them.
    FileRead(String, Result<Vec<u8>, String>),
    Cancel,
    Export,
    ExportPeople,
    Sort(SortKey),
    SortPeople(PersonOrder),
    ChooseText(usize),
    ChooseAuthor(Option<usize>),
    ChooseSheet(String),
}

impl Action {
    /// Whether the page looks different afterwards (an export only downloads).
    pub fn renders(&self) -> bool {
        !matches!(self, Action::Export | Action::ExportPeople)
    }
}

/// What the browser has to do after a transition.
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Post this to the model worker.
    Send(Request),
    /// Ask the worker to load the model the page's address names.
    Load,
    /// Ask the service worker to store the model's files (offline use).
    StoreForOffline(Vec<String>),
    /// Drop the worker and start a new one (logging why).
    RestartWorker(String),
    /// Mark the document with this language and remember it for the session.
    SetLang(Lang),
    /// Offer this CSV as a download.
    Download { csv: String, name: &'static str },
}

/// Everything the page holds. The user's texts live only here, in memory.
pub struct PageState {
    pub lang: Lang,
    pub model: ModelState,
    pub text: String,
    pub result: Option<(Outcome, f64)>,
    /// The text the shown result is for (the box may have been edited since).
    pub shown_text: String,
    /// The request for the text in the box, while in flight.
    pub single: Option<u32>,
    /// The follow-up request for the shown result's attribution (slower, so it comes second).
    pub explaining: Option<u32>,
    /// The attribution request for the shown result has come back (with weights or without).
    pub explained: bool,
    next_id: u32,
    pub batch: Option<Batch>,
    pub batch_error: Option<BatchError>,
    /// The worker crashed: said once, until the user's next action.
    pub worker_crashed: bool,
    /// The box holds its maximum and a paste may have been cut: the page says so.
    pub box_full: bool,
    /// Whether the service worker has stored the app and this model (offline use).
    pub offline: Option<bool>,
}

impl PageState {
    /// A page whose worker has just been started.
    pub fn new(lang: Lang) -> Self {
        Self {
            lang,
            model: ModelState::starting(),
            text: String::new(),
            result: None,
            shown_text: String::new(),
            single: None,
            explaining: None,
            explained: false,
            next_id: 1,
            batch: None,
            batch_error: None,
            worker_crashed: false,
            box_full: false,
            offline: None,
        }
    }

    pub fn ready(&self) -> bool {
        matches!(self.model, ModelState::Ready(_))
    }

    /// The binary threshold of the loaded model (0.5 until one is loaded).
    pub fn threshold(&self) -> f32 {
        match &self.model {
            ModelState::Ready(info) => info.binary_threshold,
            _ => 0.5,
        }
    }

    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        let mut effects = Vec::new();
        match action {
            Action::Reply(reply) => self.on_reply(reply, &mut effects),
            Action::WorkerCrashed(detail) => self.on_crash(detail, &mut effects),
            Action::NoWorker(e) => self.model = ModelState::no_worker(e),
            Action::Stored(ok) => self.offline = Some(ok),
            Action::Input(text) => self.on_input(text),
            Action::Classify => self.classify(&mut effects),
            Action::Clear => self.clear(),
            Action::ToggleLang => {
                self.lang = self.lang.other();
                effects.push(Effect::SetLang(self.lang));
            }
            Action::FileRead(name, bytes) => {
                let read = bytes
                    .map_err(BatchError::Read)
                    .and_then(|b| Batch::read(&name, b, None).map_err(BatchError::Table));
                self.set_batch(read, &mut effects);
            }
            Action::ChooseSheet(sheet) => {
                if let Some(batch) = self.batch.take() {
                    let read = batch.with_sheet(&sheet).map_err(BatchError::Table);
                    self.set_batch(read, &mut effects);
                }
            }
            Action::ChooseText(column) => {
                self.with_batch(|b| b.choose_text(column));
                self.continue_batch(&mut effects);
            }
            Action::Export => {
                if let Some(batch) = &self.batch {
                    effects.push(Effect::Download {
                        csv: batch.export(),
                        name: "sosrisk-results.csv",
                    });
                }
            }
            Action::ExportPeople => {
                if let Some(csv) = self.batch.as_ref().and_then(Batch::export_people) {
                    effects.push(Effect::Download {
                        csv,
                        name: "sosrisk-per-person.csv",
                    });
                }
            }
            Action::Cancel => self.with_batch(Batch::cancel),
            Action::Sort(key) => self.with_batch(|b| b.sort = key),
            Action::SortPeople(order) => self.with_batch(|b| b.people_order = order),
            Action::ChooseAuthor(column) => self.with_batch(|b| b.choose_author(column)),
        }
        effects
    }

    /// Changes the batch, when there is one.
    fn with_batch(&mut self, change: impl FnOnce(&mut Batch)) {
        if let Some(batch) = &mut self.batch {
            change(batch);
        }
    }

    fn request(&mut self, texts: Vec<String>, explain: bool, effects: &mut Vec<Effect>) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        effects.push(Effect::Send(Request::Classify { id, texts, explain }));
        id
    }

    fn on_input(&mut self, text: String) {
        if is_blank(&text) {
            self.result = None;
        }
        // `maxlength` counts UTF-16 units and cuts a longer paste without a word. A text has no
        // more UTF-16 units than UTF-8 bytes, so short texts skip the count.
        self.box_full = text.len() >= BOX_LIMIT && text.encode_utf16().count() >= BOX_LIMIT;
        self.text = text;
    }

    fn classify(&mut self, effects: &mut Vec<Effect>) {
        self.worker_crashed = false;
        if is_blank(&self.text) {
            self.result = Some((Outcome::Empty, 0.0));
        } else if self.ready() && self.single.is_none() {
            self.explaining = None;
            self.explained = false;
            self.shown_text = self.text.clone();
            self.single = Some(self.request(vec![self.text.clone()], false, effects));
        }
    }

    fn on_reply(&mut self, reply: Reply, effects: &mut Vec<Effect>) {
        match reply {
            Reply::Started => effects.push(Effect::Load),
            Reply::Progress { file, loaded, total } => {
                self.model = ModelState::Loading { file, loaded, total };
            }
            Reply::Ready(info) => {
                effects.push(Effect::StoreForOffline(info.files.clone()));
                self.model = ModelState::Ready(info);
                self.continue_batch(effects);
            }
            Reply::Backend { backend, why } => {
                if let ModelState::Ready(info) = &mut self.model {
                    info.backend = backend;
                    info.why = why;
                }
            }
            Reply::LoadFailed(error) => self.model = ModelState::Failed(error),
            Reply::Kernels { count } => {
                if let ModelState::Ready(info) = &mut self.model {
                    let at_ready = info.kernels.map_or(count, |k| k.at_ready);
                    info.kernels = Some(KernelCounts { at_ready, now: count });
                }
            }
            Reply::Crashed { error } => self.on_crash(error, effects),
            Reply::Results { id, outcomes, ms } => self.on_results(id, outcomes, ms, effects),
        }
    }

    fn on_results(&mut self, id: u32, outcomes: Vec<Outcome>, ms: f64, effects: &mut Vec<Effect>) {
        if self.single == Some(id) {
            self.single = None;
            // A reply for text that has since been cleared is dropped with it.
            if !is_blank(&self.text) {
                self.result = outcomes.into_iter().next().map(|o| (o, ms));
                if matches!(self.result, Some((Outcome::Ok(_), _))) {
                    let text = self.shown_text.clone();
                    self.explaining = Some(self.request(vec![text], true, effects));
                }
            }
        } else if self.explaining == Some(id) {
            self.explaining = None;
            self.explained = true;
            if let (Some((Outcome::Ok(shown), _)), Some(Outcome::Ok(explained))) =
                (&mut self.result, outcomes.into_iter().next())
            {
                shown.attribution = explained.attribution;
            }
        } else if self.batch.as_mut().is_some_and(|b| b.on_results(id, outcomes)) {
            self.continue_batch(effects);
        }
    }

    /// The worker crashed: say so, drop what was in flight, start a new one.
    fn on_crash(&mut self, detail: String, effects: &mut Vec<Effect>) {
        self.worker_crashed = true;
        self.single = None;
        self.explaining = None;
        if let Some(batch) = &mut self.batch {
            batch.pending = None;
        }
        self.model = ModelState::starting();
        effects.push(Effect::RestartWorker(detail));
    }

    /// Clearing the box clears everything the page holds of the user's texts.
    fn clear(&mut self) {
        self.text.clear();
        self.box_full = false;
        self.shown_text.clear();
        self.result = None;
        self.single = None;
        self.explaining = None;
        self.batch = None;
        self.batch_error = None;
        self.worker_crashed = false;
    }

    /// Sends the next chunk of the batch, if the model is ready, rows are left and none is in
    /// flight.
    fn continue_batch(&mut self, effects: &mut Vec<Effect>) {
        if !self.ready() || self.batch.as_ref().is_none_or(|b| b.pending.is_some()) {
            return;
        }
        let Some((start, texts)) = self.batch.as_ref().and_then(Batch::next_chunk) else {
            return;
        };
        let id = self.request(texts, false, effects);
        if let Some(batch) = &mut self.batch {
            batch.pending = Some((id, start));
        }
    }

    /// Shows a freshly read file (or why it could not be read) and starts it when it can.
    fn set_batch(&mut self, read: Result<Batch, BatchError>, effects: &mut Vec<Effect>) {
        match read {
            Ok(batch) => {
                self.batch_error = None;
                self.batch = Some(batch);
                self.continue_batch(effects);
            }
            Err(e) => {
                self.batch = None;
                self.batch_error = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prediction::Prediction;
    use crate::web::batch::CHUNK;
    use crate::web::protocol::Why;

    fn info() -> ModelInfo {
        ModelInfo {
            backend: "CPU".into(),
            architecture: "test".into(),
            description: String::new(),
            binary_threshold: 0.4,
            load_ms: 1.0,
            why: Why::Asked,
            files: vec!["models/e5/config.json".into()],
            kernels: None,
        }
    }

    #[test]
    fn kernel_counts_keep_the_count_at_ready() {
        let mut page = ready();
        for count in [120, 120, 123] {
            page.apply(Action::Reply(Reply::Kernels { count }));
        }
        let ModelState::Ready(info) = &page.model else {
            panic!()
        };
        assert_eq!(
            info.kernels,
            Some(KernelCounts {
                at_ready: 120,
                now: 123
            })
        );
    }

    fn ready() -> PageState {
        let mut page = PageState::new(Lang::Zh);
        let effects = page.apply(Action::Reply(Reply::Ready(info())));
        assert_eq!(effects, [Effect::StoreForOffline(info().files)]);
        page
    }

    fn sent(effects: &[Effect]) -> Vec<(u32, usize, bool)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send(Request::Classify { id, texts, explain }) => Some((*id, texts.len(), *explain)),
                _ => None,
            })
            .collect()
    }

    fn results(id: u32, n: usize, p_high: f32) -> Action {
        let outcomes = (0..n)
            .map(|_| Outcome::Ok(Prediction::sample(3, p_high)))
            .collect();
        Action::Reply(Reply::Results {
            id,
            outcomes,
            ms: 5.0,
        })
    }

    // A synthetic file written for this test.
    fn csv(rows: usize) -> Vec<u8> {
        let mut s = String::from("author,text\n");
        for i in 0..rows {
            s += &format!("p{},今天第{i}次写日记\n", i % 2);
        }
        s.into_bytes()
    }

    #[test]
    fn a_text_is_classified_then_explained() {
        let mut page = ready();
        page.apply(Action::Input("今天想吃火锅".into()));
        let first = page.apply(Action::Classify);
        assert_eq!(sent(&first), [(1, 1, false)]);
        assert!(sent(&page.apply(Action::Classify)).is_empty(), "one at a time");
        let then = page.apply(results(1, 1, 0.2));
        assert_eq!(sent(&then), [(2, 1, true)], "attribution follows the result");
        assert!(matches!(page.result, Some((Outcome::Ok(_), _))) && !page.explained);
        let mut explained = Prediction::sample(3, 0.2);
        explained.attribution = Some(vec![0.5; 6]);
        page.apply(Action::Reply(Reply::Results {
            id: 2,
            outcomes: vec![Outcome::Ok(explained)],
            ms: 9.0,
        }));
        let Some((Outcome::Ok(shown), ms)) = &page.result else {
            panic!()
        };
        assert_eq!((shown.attribution.as_ref().map(Vec::len), *ms), (Some(6), 5.0));
        assert!(page.explained && page.explaining.is_none());
    }

    #[test]
    fn nothing_is_sent_before_the_model_is_ready_or_for_a_blank_box() {
        let mut page = PageState::new(Lang::En);
        page.apply(Action::Input("早上好".into()));
        assert!(page.apply(Action::Classify).is_empty());
        let mut page = ready();
        page.apply(Action::Input("  \n".into()));
        assert!(page.apply(Action::Classify).is_empty());
        assert_eq!(page.result, Some((Outcome::Empty, 0.0)));
    }

    #[test]
    fn clearing_forgets_everything_and_drops_late_replies() {
        let mut page = ready();
        page.apply(Action::Input("一段文字".into()));
        page.apply(Action::Classify);
        page.apply(Action::FileRead("a.csv".into(), Ok(csv(3))));
        page.apply(Action::Clear);
        assert!(
            page.apply(results(1, 1, 0.9)).is_empty(),
            "no attribution for a cleared text"
        );
        assert!(page.text.is_empty() && page.shown_text.is_empty());
        assert!(page.result.is_none() && page.batch.is_none() && page.single.is_none());
    }

    #[test]
    fn a_crash_restarts_the_worker_and_forgets_what_was_in_flight() {
        let mut page = ready();
        page.apply(Action::Input("一段文字".into()));
        page.apply(Action::Classify);
        let effects = page.apply(Action::Reply(Reply::Crashed {
            error: "panic".into(),
        }));
        assert_eq!(effects, [Effect::RestartWorker("panic".into())]);
        assert!(page.worker_crashed && page.single.is_none() && !page.ready());
        assert_eq!(page.apply(Action::Reply(Reply::Started)), [Effect::Load]);
        page.apply(Action::NoWorker("refused".into()));
        assert!(matches!(&page.model, ModelState::Failed(e) if e.detail.contains("refused")));
    }

    #[test]
    fn a_batch_runs_chunk_by_chunk_once_the_model_is_ready() {
        let mut page = PageState::new(Lang::Zh);
        assert!(
            page.apply(Action::FileRead("a.csv".into(), Ok(csv(40))))
                .is_empty()
        );
        let effects = page.apply(Action::Reply(Reply::Ready(info())));
        assert_eq!(sent(&effects), [(1, CHUNK, false)]);
        let effects = page.apply(results(1, CHUNK, 0.9));
        assert_eq!(sent(&effects), [(2, 8, false)]);
        page.apply(Action::Cancel);
        assert!(page.apply(results(2, 8, 0.9)).is_empty(), "cancelled");
        let batch = page.batch.as_ref().unwrap();
        assert_eq!((batch.done, batch.cancelled), (CHUNK, true));
        let effects = page.apply(Action::Export);
        let [Effect::Download { csv, name }] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(*name, "sosrisk-results.csv");
        assert!(
            csv.trim_start_matches('\u{feff}')
                .starts_with("author,text,line,")
        );
        assert!(!Action::Export.renders());
        page.apply(Action::ChooseAuthor(Some(0)));
        assert!(matches!(
            &page.apply(Action::ExportPeople)[..],
            [Effect::Download { .. }]
        ));
    }

    #[test]
    fn a_file_without_a_text_column_waits_for_the_choice() {
        let mut page = ready();
        let file = "who,body\nx,今天天气很好\n".as_bytes().to_vec();
        assert!(page.apply(Action::FileRead("b.csv".into(), Ok(file))).is_empty());
        assert_eq!(sent(&page.apply(Action::ChooseText(1))), [(1, 1, false)]);
        page.apply(Action::FileRead("c.csv".into(), Err("unreadable".into())));
        assert!(page.batch.is_none() && matches!(page.batch_error, Some(BatchError::Read(_))));
    }

    #[test]
    fn the_language_switch_and_a_full_box_are_reported() {
        let mut page = PageState::new(Lang::Zh);
        assert_eq!(page.apply(Action::ToggleLang), [Effect::SetLang(Lang::En)]);
        page.apply(Action::Input("字".repeat(BOX_LIMIT)));
        assert!(page.box_full);
        page.apply(Action::Input("字".into()));
        assert!(!page.box_full);
    }
}
