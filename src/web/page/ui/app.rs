//! The page component: holds the [`PageState`], the worker and a file being read, turns every
//! message into an [`Action`] for the state and carries out the [`Effect`]s it returns. The
//! view is the components of this folder.

use gloo::file::callbacks::FileReader;
use yew::prelude::*;

use super::attribution::attributed_chars;
use super::batch_input::BatchInput;
use super::model_status::ModelStatus;
use super::result_view::ResultView;
use super::text_input::TextInput;
use super::worker_link::WorkerLink;
use super::{batch_table, browser};
use crate::web::page::state::{Action, BatchError, Effect, PageState};
use crate::web::protocol::Outcome;

pub enum Msg {
    Do(Action),
    /// A file was picked: read its bytes (the result comes back as `Action::FileRead`).
    FileChosen(web_sys::File),
}

pub struct App {
    state: PageState,
    link: Option<WorkerLink>,
    /// The file being read (dropping it would cancel the read).
    reader: Option<FileReader>,
}

impl App {
    fn spawn(&mut self, ctx: &Context<Self>) {
        self.link = None;
        match WorkerLink::spawn(ctx.link().callback(Msg::Do)) {
            Ok(link) => self.link = Some(link),
            Err(e) => {
                self.state.apply(Action::NoWorker(e));
            }
        }
    }

    fn run(&mut self, ctx: &Context<Self>, effect: Effect) {
        match effect {
            Effect::Send(request) => {
                if let Some(link) = &self.link {
                    link.send(&request);
                }
            }
            Effect::Load => {
                if let Some(link) = &self.link {
                    link.send(&browser::load_request());
                }
            }
            Effect::StoreForOffline(files) => {
                browser::store_for_offline(&files, ctx.link().callback(|ok| Msg::Do(Action::Stored(ok))));
            }
            Effect::RestartWorker(detail) => {
                web_sys::console::error_1(&format!("model worker: {detail}").into());
                self.spawn(ctx);
            }
            Effect::SetLang(lang) => browser::remember_lang(lang),
            Effect::Download { csv, name } => browser::download(&csv, name),
        }
    }

    fn read_file(&mut self, ctx: &Context<Self>, file: web_sys::File) {
        let name = file.name();
        let file = gloo::file::File::from(file);
        let link = ctx.link().clone();
        self.reader = Some(gloo::file::callbacks::read_as_bytes(&file, move |bytes| {
            link.send_message(Msg::Do(Action::FileRead(name, bytes.map_err(|e| e.to_string()))));
        }));
    }

    fn view_result(&self) -> Html {
        let s = &self.state;
        let Some((outcome, ms)) = &s.result else {
            return html! {};
        };
        let attributed = match outcome {
            Outcome::Ok(p) => attributed_chars(&s.shown_text, p),
            _ => String::new(),
        };
        html! {
            <ResultView outcome={outcome.clone()} ms={*ms} explained={s.explained}
                threshold={s.threshold()} {attributed} lang={s.lang} />
        }
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let lang = browser::session_lang();
        browser::set_document_lang(lang);
        browser::register_service_worker();
        let mut app = Self {
            state: PageState::new(lang),
            link: None,
            reader: None,
        };
        app.spawn(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::FileChosen(file) => {
                self.read_file(ctx, file);
                false
            }
            Msg::Do(action) => {
                if matches!(action, Action::FileRead(..)) {
                    self.reader = None;
                }
                let renders = action.renders();
                for effect in self.state.apply(action) {
                    self.run(ctx, effect);
                }
                renders
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let s = &self.state;
        let w = s.lang.words();
        let on = ctx.link().callback(Msg::Do);
        let batch_error = s.batch_error.as_ref().map(|e| match e {
            BatchError::Read(detail) => detail.clone(),
            BatchError::Table(t) => w.table_error(t),
        });
        html! {
            <div class="page">
                <header>
                    <div class="heading">
                        <h1>{ w.title }</h1>
                        <p>{ w.subtitle }</p>
                    </div>
                    <button class="lang" onclick={on.reform(|_| Action::ToggleLang)}
                        lang={s.lang.other().code()}>{ w.switch_to }</button>
                </header>
                <p class="privacy" role="note">{ w.privacy }</p>
                <ModelStatus model={s.model.clone()} offline={s.offline} lang={s.lang} />
                if s.worker_crashed {
                    <p class="notice" role="alert">{ w.worker_crashed }</p>
                }
                <main>
                    <section class="input">
                        <TextInput text={AttrValue::from(s.text.clone())} box_full={s.box_full}
                            can_classify={s.ready() && s.single.is_none()} lang={s.lang} on={on.clone()} />
                        <BatchInput error={batch_error} lang={s.lang} on_file={ctx.link().callback(Msg::FileChosen)} />
                    </section>
                    <section class="output" aria-live="polite">
                        { self.view_result() }
                    </section>
                </main>
                if let Some(batch) = &s.batch {
                    { batch_table::batch_table(batch, w, &on) }
                }
                <footer><p>{ w.disclaimer }</p></footer>
            </div>
        }
    }
}
