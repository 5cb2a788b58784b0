//! Proc macros of `distroduce-sdk`; see that crate for the author-facing documentation.
//!
//! `#[policy]` and `#[state_update]` keep the annotated function as it is and add, next to it:
//! * `__distroduce_body_<export>`: decodes the input parts the function names, calls it, and
//!   encodes its result (the logic shared by both backends);
//! * `__distroduce_native_<export>` and `__distroduce_describe_<export>` on every target;
//! * on `wasm32` only, the exports `<export>` and `distroduce_describe_<export>`.
//!
//! The generated names depend on the export name, not the function name, so that
//! `native_table!` can be given export names and two functions cannot claim one export.

mod expand;
mod signature;
mod typed;

use proc_macro::TokenStream;
use signature::FnKind;

/// Marks a function as a policy: it turns state into a map of signals.
///
/// Parameters are matched by name (`ctx`, `params`, `state`, `args`, `history`); the export is
/// named after the function unless `#[policy(name = "other")]` says otherwise.
/// `#[policy(typed_only)]` (also on `#[state_update]`) generates no export, only the typed form
/// that `native_table!(state = S; export => this_fn)` binds to another function's export.
#[proc_macro_attribute]
pub fn policy(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::function(FnKind::Policy, attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Marks a function as a state update: it returns the next value of the variable the scenario
/// maps it to (`ctx.variable()`). Takes the parameters of a policy plus `signals`.
#[proc_macro_attribute]
pub fn state_update(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::function(FnKind::StateUpdate, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Lists a plugin crate's functions for the native backend:
/// `native_table!(enter, send, ref1::s_a)` takes export names (optionally behind a module path)
/// and defines `pub fn native_functions() -> Vec<(&'static str, NativeFn)>` and
/// `pub fn native_exports() -> Vec<NativeExport>` (which adds the describe functions).
/// `native_table!(state = State; ...)` also offers the typed in-guest loop over the
/// `#[state]` struct `State` (ABI.md §11); every listed function must then take `&State` or no
/// state, unless the entry names a typed form: `state_updates::send_message => typed::send_message`
/// keeps the export as it is for the host loop and §10's loop and runs the
/// `#[state_update(typed_only)]` function `typed::send_message` in the typed loop (it must compute
/// the same values; test both).
#[proc_macro]
pub fn native_table(input: TokenStream) -> TokenStream {
    expand::native_table(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Declares a plugin's state struct for the typed in-guest loop (ABI.md §11): every field is the
/// state variable of the same name, kept typed in the guest for the whole job. Derives
/// `serde::Deserialize` (unless already derived) so the same struct serves the host loop.
#[proc_macro_attribute]
pub fn state(_attr: TokenStream, item: TokenStream) -> TokenStream {
    typed::state(item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Declares a policy output struct whose fields are signals (`i64`, `f64`, `String` or
/// `Vec<T>`; lists and strings concatenate under `add`): a block whose
/// policies all return it aggregates them typed, field by field. Derives `Serialize`,
/// `Deserialize` and `Clone` where missing.
#[proc_macro_attribute]
pub fn signals(_attr: TokenStream, item: TokenStream) -> TokenStream {
    typed::signals(item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
