//! Code generation for `#[policy]`, `#[state_update]` and `native_table!`.

use crate::signature::{self, FnKind, Part, Pass, Signature};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::{Error, Ident, ItemFn, LitStr, Path, Token};

/// Parses the attribute arguments: `name = "x"` and the flag `typed_only`.
fn export_name(attr: TokenStream, default: &Ident) -> Result<(Ident, bool), Error> {
    let mut name: Option<LitStr> = None;
    let mut typed_only = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            name = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("typed_only") {
            typed_only = true;
            Ok(())
        } else {
            Err(meta.error("unknown argument; expected `name = \"export_name\"` or `typed_only`"))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    if let (true, Some(lit)) = (typed_only, &name) {
        return Err(Error::new(
            lit.span(),
            "`typed_only` takes no `name`: `native_table!` binds it as `export => this_fn`",
        ));
    }
    let export = match name {
        None => default.clone(),
        Some(lit) => syn::parse_str::<Ident>(&lit.value())
            .map(|id| Ident::new(&id.to_string(), lit.span()))
            .map_err(|_| Error::new(lit.span(), "the export name must be a Rust identifier (letters, digits, `_`)"))?,
    };
    Ok((export, typed_only))
}

pub fn function(kind: FnKind, attr: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let f: ItemFn = syn::parse2(item)?;
    let (export, typed_only) = export_name(attr, &f.sig.ident)?;
    let sig = signature::read(kind, &f)?;
    if typed_only {
        // Only the typed form (ABI.md §11), named in `native_table!` as `export => this_fn`.
        let typed = crate::typed::factory(kind, &f, &export, &sig);
        return Ok(quote! { #f #typed });
    }
    let body = body_fn(&f, &export, &sig);
    let describe = describe_fn(kind, &export, &sig);
    let typed = crate::typed::factory(kind, &f, &export, &sig);
    let name_str = export.to_string();
    let describe_str = format!("distroduce_describe_{export}");
    let body_id = format_ident!("__distroduce_body_{}", export);
    let native_id = format_ident!("__distroduce_native_{}", export);
    let describe_id = format_ident!("__distroduce_describe_{}", export);
    let wasm_id = format_ident!("__distroduce_wasm_{}", export);
    let wasm_describe_id = format_ident!("__distroduce_wasm_describe_{}", export);
    Ok(quote! {
        #f
        #body
        #describe
        #typed

        /// Native entry point (see `distroduce_sdk::native`).
        #[doc(hidden)]
        #[allow(dead_code)]
        pub fn #native_id(input: &[u8], host: &mut dyn ::distroduce_sdk::native::Host) -> ::std::vec::Vec<u8> {
            ::distroduce_sdk::__private::run_native(input, host, #body_id)
        }

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = #name_str)]
        pub extern "C" fn #wasm_id(ptr: i32, len: i32) -> i64 {
            ::distroduce_sdk::__private::run_wasm(ptr, len, #body_id)
        }

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = #describe_str)]
        pub extern "C" fn #wasm_describe_id() -> i64 {
            ::distroduce_sdk::__private::wasm_describe(#describe_id())
        }
    })
}

/// `__distroduce_body_<export>`: input bytes to output bytes, or the failure message.
fn body_fn(f: &ItemFn, export: &Ident, sig: &Signature) -> TokenStream {
    let body_id = format_ident!("__distroduce_body_{}", export);
    let parts_id = format_ident!("__distroduce_parts_{}", export);
    let user_fn = &f.sig.ident;
    let mut decodes = Vec::new();
    let mut call_args = Vec::new();
    let mut ctx_check = quote!();
    for p in &sig.params {
        let local = format_ident!("__distroduce_{}", p.part.name());
        let ty = &p.ty;
        if p.part == Part::Ctx {
            let mutability = (p.pass == Pass::RefMut).then(|| quote!(mut));
            decodes.push(quote! {
                let #mutability #local = ::distroduce_sdk::__private::new_ctx(__parts.ctx()?, __host);
            });
            ctx_check = quote! {
                if let ::core::option::Option::Some(e) = #local.__take_error() {
                    return ::core::result::Result::Err(e);
                }
            };
        } else {
            let getter = Ident::new(p.part.name(), Span::call_site());
            let mutability = (p.pass == Pass::RefMut).then(|| quote!(mut));
            decodes.push(quote! { let #mutability #local: #ty = __parts.#getter()?; });
        }
        call_args.push(match p.pass {
            Pass::Ref => quote!(&#local),
            Pass::RefMut => quote!(&mut #local),
            Pass::Value => quote!(#local),
        });
    }
    let host_param = if sig.get(Part::Ctx).is_some() { quote!(__host) } else { quote!(_) };
    let encode = if sig.returns_result {
        quote! {
            match __ret {
                ::core::result::Result::Ok(v) => ::distroduce_sdk::__private::EncodeOutput::encode_output(&v, __out),
                ::core::result::Result::Err(e) => ::core::result::Result::Err(::std::string::ToString::to_string(&e)),
            }
        }
    } else {
        quote!(::distroduce_sdk::__private::EncodeOutput::encode_output(&__ret, __out))
    };
    quote! {
        #[doc(hidden)]
        #[allow(clippy::let_unit_value, clippy::unit_arg)]
        fn #body_id(
            __input: &[u8],
            __host: &mut dyn ::distroduce_sdk::native::Host,
            __out: &mut ::std::vec::Vec<u8>,
        ) -> ::core::result::Result<(), ::std::string::String> {
            #parts_id(&::distroduce_sdk::__private::Input::parse(__input)?, __host, __out)
        }

        #[doc(hidden)]
        #[allow(clippy::let_unit_value, clippy::unit_arg)]
        pub fn #parts_id(
            __parts: &::distroduce_sdk::__private::Input<'_>,
            #host_param: &mut dyn ::distroduce_sdk::native::Host,
            __out: &mut ::std::vec::Vec<u8>,
        ) -> ::core::result::Result<(), ::std::string::String> {
            #(#decodes)*
            let __ret = #user_fn(#(#call_args),*);
            #ctx_check
            #encode
        }
    }
}

/// `__distroduce_describe_<export>`: the describe map (ABI §2) from the parameter types.
fn describe_fn(kind: FnKind, export: &Ident, sig: &Signature) -> TokenStream {
    let describe_id = format_ident!("__distroduce_describe_{}", export);
    let reads = |part: Part| match sig.get(part) {
        Some(p) => {
            let ty = &p.ty;
            quote!(::distroduce_sdk::__private::reads_of::<#ty>())
        }
        None => quote!(::core::option::Option::Some(::std::vec::Vec::new())),
    };
    // History records are states too, so their fields count as state reads.
    let state = match (sig.get(Part::State), sig.get(Part::History)) {
        (Some(_), Some(h)) => {
            let (s, hty) = (reads(Part::State), &h.ty);
            quote!(::distroduce_sdk::__private::union_reads(#s, ::distroduce_sdk::__private::reads_of::<#hty>()))
        }
        (None, Some(_)) => reads(Part::History),
        _ => reads(Part::State),
    };
    let (params, signals, args) = (reads(Part::Params), reads(Part::Signals), reads(Part::Args));
    let kind = match kind {
        FnKind::Policy => quote!(::distroduce_sdk::__private::Kind::Policy),
        FnKind::StateUpdate => quote!(::distroduce_sdk::__private::Kind::StateUpdate),
    };
    let out = &sig.output;
    quote! {
        /// The describe map of this export (ABI §2).
        #[doc(hidden)]
        #[allow(dead_code)]
        pub fn #describe_id() -> ::std::vec::Vec<u8> {
            use ::distroduce_sdk::__private::{OutputProbeFallback as _, OutputProbeReal as _};
            let output = (&::distroduce_sdk::__private::OutputProbe::<#out>::new()).output_kind();
            ::distroduce_sdk::__private::describe(#kind, output, #state, #params, #signals, #args)
        }
    }
}

/// `native_table!`'s input: an optional `state = Type;`, then export paths, each optionally
/// followed by `=> path` to a `#[policy(typed_only)]`/`#[state_update(typed_only)]` function
/// that is the export's typed form.
struct Table {
    state: Option<syn::Type>,
    paths: Punctuated<Entry, Token![,]>,
}

struct Entry {
    path: Path,
    typed: Option<Path>,
}

impl syn::parse::Parse for Entry {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let path = input.parse()?;
        let typed = if input.peek(Token![=>]) {
            input.parse::<Token![=>]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Entry { path, typed })
    }
}

impl syn::parse::Parse for Table {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let state = if input.peek(Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            if key != "state" {
                return Err(Error::new(key.span(), "expected `state = StateType;` or export names"));
            }
            input.parse::<Token![=]>()?;
            let ty: syn::Type = input.parse()?;
            input.parse::<Token![;]>()?;
            Some(ty)
        } else {
            None
        };
        Ok(Table { state, paths: Punctuated::parse_terminated(input)? })
    }
}

pub fn native_table(input: TokenStream) -> Result<TokenStream, Error> {
    let Table { state, paths } = syn::parse2(input)?;
    let mut entries = Vec::new();
    let mut fused = Vec::new();
    let mut typed = Vec::new();
    let mut names = Vec::new();
    let mut uses = Vec::new();
    for Entry { path, typed: typed_form } in paths {
        let Some(last) = path.segments.last() else {
            continue;
        };
        if typed_form.is_some() && state.is_none() {
            return Err(Error::new_spanned(&path, "`export => typed_fn` needs `state = StateType;` first"));
        }
        if !last.arguments.is_empty() {
            return Err(Error::new_spanned(&path, "expected an export name, optionally behind a module path"));
        }
        let name = last.ident.to_string();
        let with = |prefix: &str| {
            let mut p = path.clone();
            if let Some(seg) = p.segments.last_mut() {
                seg.ident = format_ident!("{}{}", prefix, last.ident);
            }
            p
        };
        let (call, describe, parts) =
            (with("__distroduce_native_"), with("__distroduce_describe_"), with("__distroduce_parts_"));
        entries.push(quote! {
            ::distroduce_sdk::native::NativeExport { name: #name, call: #call, describe: #describe, parts: #parts }
        });
        fused.push(quote! { (#name, #parts as ::distroduce_sdk::__private::PartsFn) });
        if let Some(ty) = &state {
            let typed_path = |prefix: &str| match &typed_form {
                Some(t) => {
                    let mut p = t.clone();
                    if let Some(seg) = p.segments.last_mut() {
                        seg.ident = format_ident!("{}{}", prefix, seg.ident);
                    }
                    p
                }
                None => with(prefix),
            };
            let factory = typed_path("__distroduce_typed_");
            typed.push(quote! { (#name, #factory::<#ty> as ::distroduce_sdk::__private::TypedFactory<#ty>) });
            names.push(name.clone());
            uses.push(typed_path("__distroduce_typed_use_"));
        }
    }
    let (load, typed_table) = match &state {
        None => (quote!(::distroduce_sdk::__private::fused_load(ptr, len, &[#(#fused),*])), quote!()),
        Some(ty) => (
            quote!(::distroduce_sdk::__private::fused_load_direct::<#ty, _>(
                ptr, len, &[#(#fused),*], &[#(#names),*], __distroduce_typed_make,
            )),
            {
                let direct = direct_table(ty, &names, &uses);
                quote! {
                #direct

                /// This plugin's typed functions (ABI.md §11), by export name, for native tests
                /// of the typed loop ([`distroduce_sdk::TypedLoop`]).
                pub fn typed_functions() -> ::std::vec::Vec<(&'static str, ::distroduce_sdk::__private::TypedFactory<#ty>)> {
                    ::std::vec![#(#typed),*]
                }

                /// The same functions for the MessagePack loop.
                pub fn fused_functions() -> ::std::vec::Vec<(&'static str, ::distroduce_sdk::__private::PartsFn)> {
                    ::std::vec![#(#fused),*]
                }
                }
            },
        ),
    };
    Ok(quote! {
        #typed_table

        /// This plugin's functions for the native backend, by export name.
        pub fn native_exports() -> ::std::vec::Vec<::distroduce_sdk::native::NativeExport> {
            ::std::vec![#(#entries),*]
        }

        /// This plugin's native entry points, by export name.
        pub fn native_functions() -> ::std::vec::Vec<(&'static str, ::distroduce_sdk::native::NativeFn)> {
            native_exports().into_iter().map(|e| (e.name, e.call)).collect()
        }

        /// ABI §10: the in-guest run loop over the functions listed here.
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = "distroduce_fused_load")]
        pub extern "C" fn __distroduce_fused_load(ptr: i32, len: i32) -> i32 {
            #load
        }

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = "distroduce_fused_run")]
        pub extern "C" fn __distroduce_fused_run(timestep: i64, time_ns: i64) -> i32 {
            ::distroduce_sdk::__private::fused_run(timestep, time_ns)
        }

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = "distroduce_fused_run_many")]
        pub extern "C" fn __distroduce_fused_run_many(t0: i64, n: i32, start_ns: i64, step_ns: i64) -> i32 {
            ::distroduce_sdk::__private::fused_run_many(t0, n, start_ns, step_ns)
        }

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = "distroduce_fused_cursor")]
        pub extern "C" fn __distroduce_fused_cursor() -> i32 {
            ::distroduce_sdk::__private::fused_cursor()
        }
    })
}

/// ABI.md §11, direct calls: an `enum` with one variant per listed function (each holding a use
/// of that function, of its concrete type) whose `TypedUse` impl is a `match`, so that the typed
/// loop calls the functions directly and rustc may inline them; `__distroduce_typed_make` makes a
/// use of function `i`, and `typed_direct_loop` binds a program to them (native tests).
fn direct_table(ty: &syn::Type, names: &[String], uses: &[Path]) -> TokenStream {
    let vars: Vec<Ident> = (0..names.len()).map(|i| format_ident!("V{}", i)).collect();
    let gens: Vec<Ident> = (0..names.len()).map(|i| format_ident!("__F{}", i)).collect();
    let index: Vec<usize> = (0..names.len()).collect();
    let p = quote!(::distroduce_sdk::__private);
    let each = |body: TokenStream| quote! { match self { #(Self::#vars(__f) => #body,)* } };
    let (policy, policy_mut) = (each(quote!(__f.policy())), each(quote!(__f.policy_mut())));
    let (update, update_mut) = (each(quote!(__f.update())), each(quote!(__f.update_mut())));
    let call = each(quote!(__f.call(__cx, __host)));
    let encode = each(quote!(__f.encode(__out)));
    let fold_run = each(quote!(unsafe { __f.fold_run(__acc, __all, __ops) }));
    // SAFETY (generated): the caller's guarantees pass on unchanged.
    let call_run = each(quote!(unsafe { __f.call_run(__rest, __pos, __cx, __cursor_pos, __host, __marks) }));
    quote! {
        /// One use of one of this plugin's functions (ABI.md §11, direct calls).
        #[doc(hidden)]
        #[allow(non_camel_case_types, clippy::large_enum_variant)]
        pub enum __DistroduceTypedUse<#(#gens),*> { #(#vars(#gens)),* }

        impl<__S, #(#gens: #p::TypedUse<__S>),*> #p::TypedUse<__S> for __DistroduceTypedUse<#(#gens),*> {
            fn policy(&self) -> ::core::option::Option<&dyn #p::TypedPolicy<__S>> { #policy }
            fn policy_mut(&mut self) -> ::core::option::Option<&mut dyn #p::TypedPolicy<__S>> { #policy_mut }
            fn update(&self) -> ::core::option::Option<&dyn #p::TypedUpdate<__S>> { #update }
            fn update_mut(&mut self) -> ::core::option::Option<&mut dyn #p::TypedUpdate<__S>> { #update_mut }
            #[inline(always)]
            fn call(
                &mut self,
                __cx: &#p::TypedCall<'_, __S>,
                __host: &mut dyn ::distroduce_sdk::native::Host,
            ) -> ::core::result::Result<(), ::std::string::String> { #call }
            #[inline(always)]
            fn encode(&self, __out: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), ::std::string::String> {
                #encode
            }
            #[inline(always)]
            unsafe fn fold_run(
                &self,
                __acc: *mut (),
                __all: &[*const ()],
                __ops: &[#p::AggOp],
            ) -> ::core::result::Result<(), #p::AggError> { #fold_run }
            #[inline(always)]
            unsafe fn call_run(
                &mut self,
                __rest: &[*mut ()],
                __pos: &[u32],
                __cx: &mut #p::TypedCall<'_, __S>,
                __cursor_pos: &mut u32,
                __host: &mut #p::Counting<'_>,
                __marks: &mut ::std::vec::Vec<(u32, u32)>,
            ) -> bool { #call_run }
        }

        /// A use of function `i` of this table (ABI.md §11, direct calls).
        #[doc(hidden)]
        #[allow(clippy::type_complexity)]
        fn __distroduce_typed_make(
            __i: usize,
            __params: &[u8],
            __args: ::core::option::Option<&[u8]>,
        ) -> ::core::result::Result<impl #p::TypedUse<#ty> + 'static + use<>, ::std::string::String> {
            ::core::result::Result::Ok(match __i {
                #(#index => __DistroduceTypedUse::#vars(#uses::<#ty>(__params, __args)?),)*
                _ => return ::core::result::Result::Err(::std::string::String::from("malformed program: no such function")),
            })
        }

        /// The typed loop over this plugin's functions called directly, as the plugin runs it
        /// in the guest (ABI.md §11), for native tests.
        pub fn typed_direct_loop(
            program: &[u8],
        ) -> ::core::result::Result<::distroduce_sdk::TypedLoop<#ty, impl #p::TypedUse<#ty> + use<>>, ::std::string::String> {
            ::distroduce_sdk::TypedLoop::load_direct(program, &[#(#names),*], __distroduce_typed_make)
        }
    }
}
