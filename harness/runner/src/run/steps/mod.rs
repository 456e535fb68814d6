//! The step interpreter, a file per step family: each adds the methods that
//! play its steps to [`Script`](crate::run::script::Script), which
//! dispatches on the step.

mod calls;
mod load;
mod requests;
mod resume;
mod sessions;
