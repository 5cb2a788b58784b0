//! Code generation for the typed in-guest loop (ABI.md §11): `#[state]`, `#[signals]` and the
//! per-function factory `__distroduce_typed_<export>`.

use crate::signature::{FnKind, Part, Pass, Signature};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Error, Fields, Ident, ItemFn, ItemStruct};

/// The named fields of a plain struct, or an error saying what `what` needs.
fn named_fields<'a>(s: &'a ItemStruct, what: &str) -> Result<Vec<(&'a Ident, &'a syn::Type)>, Error> {
    if !s.generics.params.is_empty() {
        return Err(Error::new_spanned(&s.generics, format!("a #[{what}] struct cannot be generic")));
    }
    let Fields::Named(named) = &s.fields else {
        return Err(Error::new_spanned(&s.ident, format!("a #[{what}] struct needs named fields")));
    };
    let mut out = Vec::new();
    for f in &named.named {
        if f.attrs.iter().any(|a| a.path().is_ident("serde")) {
            return Err(Error::new_spanned(
                f,
                format!("#[serde] field attributes are not supported in a #[{what}] struct: field names are the scenario's names"),
            ));
        }
        out.push((f.ident.as_ref().expect("named"), &f.ty));
    }
    Ok(out)
}

/// Which of `names` the struct's `#[derive(...)]` attributes already derive.
fn derived(s: &ItemStruct, name: &str) -> bool {
    s.attrs.iter().filter(|a| a.path().is_ident("derive")).any(|a| {
        let mut found = false;
        let _ = a.parse_nested_meta(|m| {
            found |= m.path.segments.last().is_some_and(|seg| seg.ident == name);
            Ok(())
        });
        found
    })
}

/// Adds `#[derive(...)]` of those of `traits` the struct does not derive yet.
fn add_derives(s: &ItemStruct, traits: &[(&str, TokenStream)]) -> TokenStream {
    let missing: Vec<&TokenStream> = traits.iter().filter(|(n, _)| !derived(s, n)).map(|(_, t)| t).collect();
    if missing.is_empty() {
        return quote!();
    }
    quote! {
        #[derive(#(#missing),*)]
        #[serde(crate = "::distroduce_sdk::__private::serde")]
    }
}

pub fn state(item: TokenStream) -> Result<TokenStream, Error> {
    let s: ItemStruct = syn::parse2(item)?;
    let fields = named_fields(&s, "state")?;
    let name = &s.ident;
    let derive = add_derives(&s, &[("Deserialize", quote!(::distroduce_sdk::__private::serde::Deserialize))]);
    let names: Vec<String> = fields.iter().map(|(f, _)| f.to_string()).collect();
    let idents: Vec<&Ident> = fields.iter().map(|(f, _)| *f).collect();
    let types: Vec<&syn::Type> = fields.iter().map(|(_, t)| *t).collect();
    let index: Vec<usize> = (0..fields.len()).collect();
    let parts: Vec<String> = names.iter().map(|n| format!("state.{n}")).collect();
    let struct_name = name.to_string();
    Ok(quote! {
        #derive
        #s

        impl ::distroduce_sdk::TypedState for #name {
            const FIELDS: &'static [&'static str] = &[#(#names),*];
            fn decode(
                vars: &[::std::string::String],
                values: &[&[u8]],
            ) -> ::core::result::Result<Self, ::std::string::String> {
                let at = |name: &str| {
                    vars.iter().position(|v| v == name).map(|i| values[i]).ok_or_else(|| {
                        ::std::format!("the scenario has no state variable `{name}` (a field of `{}`)", #struct_name)
                    })
                };
                ::core::result::Result::Ok(#name {
                    #(#idents: ::distroduce_sdk::__private::decode_part(::core::option::Option::Some(at(#names)?), #parts)?,)*
                })
            }
            fn field_type(i: usize) -> ::core::option::Option<::core::any::TypeId> {
                match i {
                    #(#index => ::core::option::Option::Some(::core::any::TypeId::of::<#types>()),)*
                    _ => ::core::option::Option::None,
                }
            }
            fn set(&mut self, i: usize, value: ::distroduce_sdk::typed::Held<'_>) {
                match i {
                    #(#index => ::distroduce_sdk::__private::take_into(&mut self.#idents, value),)*
                    _ => {}
                }
            }
        }
    })
}

pub fn signals(item: TokenStream) -> Result<TokenStream, Error> {
    let s: ItemStruct = syn::parse2(item)?;
    let fields = named_fields(&s, "signals")?;
    let name = &s.ident;
    let derive = add_derives(
        &s,
        &[
            ("Serialize", quote!(::distroduce_sdk::__private::serde::Serialize)),
            ("Deserialize", quote!(::distroduce_sdk::__private::serde::Deserialize)),
            ("Clone", quote!(::core::clone::Clone)),
        ],
    );
    let idents: Vec<&Ident> = fields.iter().map(|(f, _)| *f).collect();
    let names: Vec<String> = idents.iter().map(|f| f.to_string()).collect();
    let index: Vec<usize> = (0..fields.len()).collect();
    Ok(quote! {
        #derive
        #s

        impl ::distroduce_sdk::TypedSignals for #name {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            #[inline]
            fn fold(
                &mut self,
                other: &Self,
                ops: &[::distroduce_sdk::__private::AggOp],
            ) -> ::core::result::Result<(), ::distroduce_sdk::__private::AggError> {
                #(::distroduce_sdk::SignalValue::combine(
                    &mut self.#idents,
                    &other.#idents,
                    ops[#index],
                    #names,
                )?;)*
                ::core::result::Result::Ok(())
            }
            fn assign(&mut self, other: &Self) {
                #(::core::clone::Clone::clone_from(&mut self.#idents, &other.#idents);)*
            }
        }
    })
}

/// `__distroduce_typed_<export>`: the factory of ABI.md §11, generic over the plugin's state type.
pub fn factory(kind: FnKind, f: &ItemFn, export: &Ident, sig: &Signature) -> TokenStream {
    let id = format_ident!("__distroduce_typed_{}", export);
    let use_id = format_ident!("__distroduce_typed_use_{}", export);
    let user_fn = &f.sig.ident;
    let p = |part| sig.get(part);
    let unsupported = |why: String| {
        quote! {
            #[doc(hidden)]
            #[allow(dead_code, unused_variables)]
            pub fn #id<__S: ::distroduce_sdk::TypedState>(
                __params: &[u8],
                __args: ::core::option::Option<&[u8]>,
            ) -> ::core::result::Result<::distroduce_sdk::__private::TypedFn<__S>, ::std::string::String> {
                ::core::result::Result::Err(::std::string::String::from(#why))
            }

            #[doc(hidden)]
            #[allow(dead_code, unused_variables)]
            pub fn #use_id<__S: ::distroduce_sdk::TypedState>(
                __params: &[u8],
                __args: ::core::option::Option<&[u8]>,
            ) -> ::core::result::Result<::distroduce_sdk::__private::NoUse, ::std::string::String> {
                ::core::result::Result::Err(::std::string::String::from(#why))
            }
        }
    };
    if p(Part::History).is_some() {
        return unsupported(format!("`{export}` reads `history`, which the typed loop does not keep"));
    }
    let mut bound = quote!();
    let mut once = Vec::new();
    let mut per_call = Vec::new();
    let mut call_args = Vec::new();
    // What was decoded once per use (the body holds it), by name and type.
    let mut captured: Vec<Ident> = Vec::new();
    let mut captured_types = Vec::new();
    let mut ctx_check = quote!();
    for param in &sig.params {
        let ty = &param.ty;
        let local = format_ident!("__distroduce_{}", param.part.name());
        let pass = |local: &Ident| match param.pass {
            Pass::Ref => quote!(&#local),
            Pass::RefMut => quote!(&mut #local),
            Pass::Value => quote!(#local),
        };
        match param.part {
            Part::Ctx => {
                let m = (param.pass == Pass::RefMut).then(|| quote!(mut));
                per_call.push(quote! {
                    let #m #local = ::distroduce_sdk::__private::new_ctx(__cx.ctx.header(), __host);
                });
                ctx_check = quote! {
                    if let ::core::option::Option::Some(e) = #local.__take_error() {
                        return ::core::result::Result::Err(e);
                    }
                };
                call_args.push(pass(&local));
            }
            Part::State => {
                if param.pass != Pass::Ref {
                    return unsupported(format!("`{export}` takes `state` by value; the typed loop lends `&State`"));
                }
                bound = quote!(+ ::core::borrow::Borrow<#ty>);
                call_args.push(quote!(::core::borrow::Borrow::<#ty>::borrow(__cx.state)));
            }
            Part::Params | Part::Args => {
                let (raw, name) = match param.part {
                    Part::Params => (quote!(::core::option::Option::Some(__params)), "params"),
                    _ => (quote!(__args), "args"),
                };
                if param.pass == Pass::Ref {
                    once.push(quote! { let #local: #ty = ::distroduce_sdk::__private::decode_part(#raw, #name)?; });
                    call_args.push(quote!(&*#local));
                    captured.push(local.clone());
                    captured_types.push(quote!(#ty));
                } else {
                    let bytes = format_ident!("__distroduce_raw_{}", name);
                    once.push(
                        quote! { let #bytes: ::core::option::Option<::std::vec::Vec<u8>> = #raw.map(<[u8]>::to_vec); },
                    );
                    captured.push(bytes.clone());
                    captured_types.push(quote!(::core::option::Option<::std::vec::Vec<u8>>));
                    let m = (param.pass == Pass::RefMut).then(|| quote!(mut));
                    per_call.push(quote! {
                        let #m #local: #ty = ::distroduce_sdk::__private::decode_part(#bytes.as_deref(), #name)?;
                    });
                    call_args.push(pass(&local));
                }
            }
            Part::Signals => {
                if param.pass == Pass::Ref {
                    let owned = format_ident!("__distroduce_signals_owned");
                    per_call.push(quote! {
                        let #owned: #ty;
                        let #local: &#ty = match ::distroduce_sdk::__private::typed_signals::<#ty, __S>(__cx) {
                            ::core::option::Option::Some(v) => v,
                            ::core::option::Option::None => {
                                #owned = ::distroduce_sdk::__private::decode_part(
                                    ::core::option::Option::Some(__cx.signals), "signals")?;
                                &#owned
                            }
                        };
                    });
                    call_args.push(quote!(#local));
                } else {
                    let m = (param.pass == Pass::RefMut).then(|| quote!(mut));
                    per_call.push(quote! {
                        let #m #local: #ty = ::distroduce_sdk::__private::decode_part(
                            ::core::option::Option::Some(__cx.signals), "signals")?;
                    });
                    call_args.push(pass(&local));
                }
            }
            Part::History => unreachable!("handled above"),
        }
    }
    let host_param = if sig.get(Part::Ctx).is_some() { quote!(__host) } else { quote!(_) };
    let ret = if sig.returns_result {
        quote!(__ret.map_err(|e| ::std::string::ToString::to_string(&e)))
    } else {
        quote!(::core::result::Result::Ok(__ret))
    };
    let out = &sig.output;
    // The body: a struct holding what was decoded once, whose `call` is `#[inline(always)]`, so
    // that the typed loop's direct table inlines the user's function even where it has an error
    // path (closures take no `#[inline]`); a closure where the output type cannot be named (a
    // `Result` alias without type arguments).
    // A struct field cannot elide a lifetime (`Cow<'_, str>` in a `let` can): such types keep
    // the closure.
    let nameable = captured_types.iter().chain([&quote!(#out)]).all(|t| !t.to_string().contains('\''));
    let body = if sig.output_known && nameable {
        quote! {
            #[allow(non_camel_case_types)]
            struct __DistroduceBody { #(#captured: #captured_types,)* }
            impl<__S: ::distroduce_sdk::TypedState #bound> ::distroduce_sdk::__private::TypedBody<__S> for __DistroduceBody {
                type Output = #out;
                #[inline(always)]
                #[allow(clippy::let_unit_value, clippy::unit_arg, clippy::needless_borrow)]
                fn call(
                    &mut self,
                    __cx: &::distroduce_sdk::__private::TypedCall<'_, __S>,
                    __host: &mut dyn ::distroduce_sdk::native::Host,
                ) -> ::core::result::Result<#out, ::std::string::String> {
                    #(let #captured = &self.#captured;)*
                    #(#per_call)*
                    let __ret = #user_fn(#(#call_args),*);
                    #ctx_check
                    #ret
                }
            }
            let __f = __DistroduceBody { #(#captured),* };
        }
    } else {
        quote! {
            let __f = ::distroduce_sdk::__private::FnBody(
                move |__cx: &::distroduce_sdk::__private::TypedCall<'_, __S>,
                      #host_param: &mut dyn ::distroduce_sdk::native::Host|
                      -> ::core::result::Result<_, ::std::string::String> {
                    #(let #captured = &#captured;)*
                    #(#per_call)*
                    let __ret = #user_fn(#(#call_args),*);
                    #ctx_check
                    #ret
                },
            );
        }
    };
    let make = match kind {
        FnKind::Policy => {
            let fold = if sig.output_known {
                quote! {{
                    use ::distroduce_sdk::__private::{SignalsProbeFallback as _, SignalsProbeReal as _};
                    (&::distroduce_sdk::__private::SignalsProbe::<#out>::new()).folder()
                }}
            } else {
                quote!(::distroduce_sdk::__private::NoFolder)
            };
            quote! {
                ::distroduce_sdk::__private::PolicyCall { f: __f, out: ::core::option::Option::None, fold: #fold }
            }
        }
        FnKind::StateUpdate => {
            let signals = match sig.get(Part::Signals) {
                Some(s) => {
                    let ty = &s.ty;
                    quote!(::core::option::Option::Some(::core::any::TypeId::of::<#ty>()))
                }
                None => quote!(::core::option::Option::None),
            };
            let fixed = if sig.output_known {
                quote! {{
                    use ::distroduce_sdk::__private::{KindProbeFallback as _, KindProbeReal as _};
                    (&::distroduce_sdk::__private::KindProbe::<#out>::new()).fixed()
                }}
            } else {
                quote!(false)
            };
            quote! {
                ::distroduce_sdk::__private::UpdateCall {
                    f: __f, out: ::core::option::Option::None, signals: #signals, fixed: #fixed,
                }
            }
        }
    };
    let (kind_trait, variant) = match kind {
        FnKind::Policy => (quote!(TypedPolicy), quote!(Policy)),
        FnKind::StateUpdate => (quote!(TypedUpdate), quote!(Update)),
    };
    quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        pub fn #id<__S: ::distroduce_sdk::TypedState #bound>(
            __params: &[u8],
            __args: ::core::option::Option<&[u8]>,
        ) -> ::core::result::Result<::distroduce_sdk::__private::TypedFn<__S>, ::std::string::String> {
            ::core::result::Result::Ok(::distroduce_sdk::__private::TypedFn::#variant(::std::boxed::Box::new(
                #use_id::<__S>(__params, __args)?,
            )))
        }

        /// One use of the function, of a concrete type (the direct table's `enum` holds it).
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::let_unit_value, clippy::unit_arg, clippy::needless_borrow)]
        pub fn #use_id<__S: ::distroduce_sdk::TypedState #bound>(
            __params: &[u8],
            __args: ::core::option::Option<&[u8]>,
        ) -> ::core::result::Result<
            impl ::distroduce_sdk::__private::TypedUse<__S>
                + ::distroduce_sdk::__private::#kind_trait<__S>
                + 'static
                + use<__S>,
            ::std::string::String,
        > {
            #(#once)*
            #body
            ::core::result::Result::Ok(#make)
        }
    }
}
