//! Reads an annotated function's signature: which input parts it takes, how, and what it returns.

use syn::spanned::Spanned;
use syn::{Error, FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FnKind {
    Policy,
    StateUpdate,
}

/// The input parts a function can name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Part {
    Ctx,
    Params,
    State,
    Signals,
    Args,
    History,
}

impl Part {
    fn from_name(name: &str) -> Option<Part> {
        Some(match name {
            "ctx" => Part::Ctx,
            "params" => Part::Params,
            "state" => Part::State,
            "signals" => Part::Signals,
            "args" => Part::Args,
            "history" => Part::History,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Part::Ctx => "ctx",
            Part::Params => "params",
            Part::State => "state",
            Part::Signals => "signals",
            Part::Args => "args",
            Part::History => "history",
        }
    }
}

/// How the decoded value is handed to the function.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Ref,
    RefMut,
    Value,
}

pub struct Param {
    pub part: Part,
    pub pass: Pass,
    /// The decoded type (behind the reference, if any).
    pub ty: Type,
}

pub struct Signature {
    pub params: Vec<Param>,
    /// Whether the return type is spelled `...Result` at all.
    pub returns_result: bool,
    /// The type whose shape the describe map reports as `output`.
    pub output: Type,
    /// Whether `output` is the function's real result type (not a stand-in for a `Result`
    /// alias without type arguments).
    pub output_known: bool,
}

impl Signature {
    pub fn get(&self, part: Part) -> Option<&Param> {
        self.params.iter().find(|p| p.part == part)
    }
}

const EXPECTED: &str = "expected one of `ctx`, `params`, `state`, `signals` (state updates only), `args`, `history`";

pub fn read(kind: FnKind, f: &ItemFn) -> Result<Signature, Error> {
    let sig = &f.sig;
    if let Some(t) = &sig.asyncness {
        return Err(Error::new(t.span(), "plugin functions cannot be async"));
    }
    if let Some(t) = &sig.unsafety {
        return Err(Error::new(t.span(), "plugin functions cannot be unsafe"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new(sig.generics.span(), "plugin functions cannot be generic"));
    }
    if let Some(v) = &sig.variadic {
        return Err(Error::new(v.span(), "plugin functions cannot be variadic"));
    }
    let mut params: Vec<Param> = Vec::new();
    for arg in &sig.inputs {
        let FnArg::Typed(pt) = arg else {
            return Err(Error::new(arg.span(), "plugin functions cannot take `self`"));
        };
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(Error::new(pt.pat.span(), format!("use a plain parameter name: {EXPECTED}")));
        };
        let name = pi.ident.to_string();
        let part = Part::from_name(&name).ok_or_else(|| {
            Error::new(
                pi.ident.span(),
                format!("unknown parameter `{name}`: parameters are matched by name; {EXPECTED}"),
            )
        })?;
        if part == Part::Signals && kind == FnKind::Policy {
            return Err(Error::new(pi.ident.span(), "policies do not receive `signals`; only a #[state_update] does"));
        }
        if params.iter().any(|p| p.part == part) {
            return Err(Error::new(pi.ident.span(), format!("parameter `{name}` appears twice")));
        }
        let (pass, ty) = match &*pt.ty {
            Type::Reference(r) if r.mutability.is_some() => (Pass::RefMut, owned((*r.elem).clone())),
            Type::Reference(r) => (Pass::Ref, owned((*r.elem).clone())),
            other => (Pass::Value, other.clone()),
        };
        if part == Part::Ctx && pass == Pass::Value {
            return Err(Error::new(pt.ty.span(), "`ctx` must be `&Ctx` or `&mut Ctx`"));
        }
        params.push(Param { part, pass, ty });
    }
    let ret: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, t) => (**t).clone(),
    };
    let (returns_result, result_ok) = result_ok_type(&ret);
    let output_known = !returns_result || result_ok.is_some();
    let output = result_ok.unwrap_or_else(|| {
        if returns_result {
            // A `Result` alias without type arguments: its Ok type is unknown.
            syn::parse_quote!(::distroduce_sdk::Value)
        } else {
            ret.clone()
        }
    });
    Ok(Signature { params, returns_result, output, output_known })
}

/// The owned type to decode for a borrowed parameter type: `[T]` becomes `Vec<T>` and `str`
/// becomes `String`, which deref-coerce back at the call, so `history: &[Vec<S>]` works.
fn owned(ty: Type) -> Type {
    match ty {
        Type::Slice(s) => {
            let elem = &s.elem;
            syn::parse_quote!(::std::vec::Vec<#elem>)
        }
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => {
            syn::parse_quote!(::std::string::String)
        }
        other => other,
    }
}

/// Whether `ty` is spelled `...::Result<...>`, and its first type argument if it has one.
/// Judged by the name because a trait cannot tell `Result<T, E>` from a serializable `T`.
fn result_ok_type(ty: &Type) -> (bool, Option<Type>) {
    let Type::Path(tp) = ty else {
        return (false, None);
    };
    let Some(last) = tp.path.segments.last() else {
        return (false, None);
    };
    if last.ident != "Result" {
        return (false, None);
    }
    let ok = match &last.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        }),
        _ => None,
    };
    (true, ok)
}
