//! The `#[cql(...)]` attributes, and the fields of the input struct with the column
//! (or bind marker) each one maps to. Both derives share this, so one struct can derive
//! both with one set of attributes.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Member, Path, Type};

/// Struct-level attributes.
pub(crate) struct StructAttrs {
    /// The path generated code names the `cqlstream` crate by (`::cqlstream` unless
    /// `#[cql(crate = path)]`).
    pub(crate) krate: Path,
    /// `#[cql(allow_extra_columns)]`: columns no field reads are ignored (`FromRow` only).
    pub(crate) allow_extra_columns: bool,
}

/// A field, as the derives see it.
pub(crate) struct Field<'a> {
    /// `self.<member>`: a name, or a position for a tuple struct.
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    /// The column / bind marker name (named structs only): the field name, or
    /// `#[cql(rename = "...")]`.
    pub(crate) column: Option<LitStr>,
    /// `#[cql(skip)]`: not read (set to `Default::default()`) and not bound.
    pub(crate) skip: bool,
}

/// The fields of the struct, or whether it is a tuple struct.
pub(crate) struct Input<'a> {
    pub(crate) attrs: StructAttrs,
    pub(crate) fields: Vec<Field<'a>>,
    /// Fields are matched by position, not by name.
    pub(crate) positional: bool,
}

impl Input<'_> {
    /// The fields that are read / bound (not skipped).
    pub(crate) fn used(&self) -> impl Iterator<Item = &Field<'_>> {
        self.fields.iter().filter(|f| !f.skip)
    }
}

const STRUCT_ATTRS: &str = "expected `crate = path` or `allow_extra_columns`";
const FIELD_ATTRS: &str = "expected `rename = \"column\"` or `skip`";

/// Parses the input: a struct (named, tuple or unit) and its `#[cql]` attributes.
pub(crate) fn parse<'a>(input: &'a DeriveInput, derive: &str) -> syn::Result<Input<'a>> {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                format!("`#[derive({derive})]` is only for structs (a field per column), not enums"),
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                format!("`#[derive({derive})]` is only for structs (a field per column), not unions"),
            ));
        }
    };
    let attrs = struct_attrs(&input.attrs)?;
    let positional = matches!(fields, Fields::Unnamed(_));
    let mut out: Vec<Field<'a>> = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let (rename, skip) = field_attrs(&f.attrs)?;
        let (member, column) = match &f.ident {
            Some(ident) => {
                let column = rename.unwrap_or_else(|| LitStr::new(&ident.unraw().to_string(), ident.span()));
                (Member::Named(ident.clone()), Some(column))
            }
            None => {
                if let Some(r) = rename {
                    return Err(syn::Error::new(
                        r.span(),
                        "`rename` needs a named field: a tuple struct's fields are matched by position",
                    ));
                }
                (Member::Unnamed(syn::Index { span: f.ty.span(), ..syn::Index::from(i) }), None)
            }
        };
        if let (false, Some(c)) = (skip, &column)
            && let Some(prev) =
                out.iter().find(|p| !p.skip && p.column.as_ref().is_some_and(|pc| pc.value() == c.value()))
        {
            let Member::Named(prev) = &prev.member else { unreachable!("named fields have a column") };
            return Err(syn::Error::new(
                c.span(),
                format!("column `{}` is already mapped to field `{prev}`", c.value()),
            ));
        }
        out.push(Field { member, ty: &f.ty, column, skip });
    }
    Ok(Input { attrs, fields: out, positional })
}

fn struct_attrs(attrs: &[Attribute]) -> syn::Result<StructAttrs> {
    let mut krate: Option<Path> = None;
    let mut allow_extra_columns = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("cql")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                if krate.is_some() {
                    return Err(meta.error("duplicate `crate` attribute"));
                }
                let value = meta.value()?;
                // `crate = path` or, as serde spells it, `crate = "path"`.
                krate = Some(if value.peek(LitStr) { value.parse::<LitStr>()?.parse()? } else { value.parse()? });
                Ok(())
            } else if meta.path.is_ident("allow_extra_columns") {
                if allow_extra_columns {
                    return Err(meta.error("duplicate `allow_extra_columns` attribute"));
                }
                allow_extra_columns = true;
                Ok(())
            } else {
                Err(meta
                    .error(format!("unknown `cql` attribute `{}` on a struct; {STRUCT_ATTRS}", path_str(&meta.path))))
            }
        })?;
    }
    let krate = krate.unwrap_or_else(|| syn::parse_quote_spanned!(Span::call_site()=> ::cqlstream));
    Ok(StructAttrs { krate, allow_extra_columns })
}

fn field_attrs(attrs: &[Attribute]) -> syn::Result<(Option<LitStr>, bool)> {
    let mut rename: Option<LitStr> = None;
    let mut skip: Option<Span> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("cql")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                if rename.is_some() {
                    return Err(meta.error("duplicate `rename` attribute"));
                }
                rename = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("skip") {
                if skip.is_some() {
                    return Err(meta.error("duplicate `skip` attribute"));
                }
                skip = Some(meta.path.span());
                Ok(())
            } else {
                Err(meta.error(format!("unknown `cql` attribute `{}` on a field; {FIELD_ATTRS}", path_str(&meta.path))))
            }
        })?;
    }
    if let (Some(r), Some(_)) = (&rename, skip) {
        return Err(syn::Error::new(r.span(), "`rename` has no effect on a `skip`ped field"));
    }
    Ok((rename, skip.is_some()))
}

fn path_str(path: &Path) -> String {
    path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::")
}

/// Whether `ty` names one of the struct's type parameters: such a field's type gets a
/// bound in the `where` clause of the impl. Other field types are checked in the body,
/// where an error points at the field's type (a bound on a concrete type would either
/// be an error at the derive, or, with a lifetime in it, no error until the first use).
pub(crate) fn mentions_type_param(ty: &Type, generics: &syn::Generics) -> bool {
    fn walk(tokens: proc_macro2::TokenStream, names: &[&syn::Ident]) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => names.contains(&&i),
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), names),
            _ => false,
        })
    }
    let names: Vec<&syn::Ident> = generics.type_params().map(|p| &p.ident).collect();
    !names.is_empty() && walk(quote::ToTokens::to_token_stream(ty), &names)
}
