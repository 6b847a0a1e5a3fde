//! Model architectures, one file each: the from-scratch character n-gram model and the
//! pretrained BERT-layout encoder (multilingual-e5-small).

pub mod bert;
mod dense;
mod gelu;
pub mod ngram;

pub use ngram::*;
