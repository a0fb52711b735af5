//! `#[derive(SerializeRow)]`: an implementation of `cqlstream::types::SerializeRow`.
//!
//! Named fields bind by marker name: for each bind marker the field of that name is
//! pushed (a `match` on string literals per marker), so the markers may come in any
//! order, a name may be bound more than once, and a field no marker names is left out.
//! Without metadata the fields are sent as named values, in field order. Tuple structs
//! bind by position.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::attrs::{self, Input};

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let parsed = attrs::parse(input, "SerializeRow")?;
    let krate = &parsed.attrs.krate;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let existing = where_clause.into_iter().flat_map(|w| &w.predicates);
    // Fields of a generic type need a bound; the others are checked in the body.
    let bounds = parsed.used().filter(|f| attrs::mentions_type_param(f.ty, &input.generics)).map(|f| {
        let ty = f.ty;
        quote_spanned!(ty.span()=> #ty: #krate::types::SerializeValue)
    });
    let (typed, untyped) = if parsed.positional { positional(&parsed) } else { by_name(&parsed) };
    let is_empty = parsed.used().next().is_none();
    let name = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::types::SerializeRow for #name #ty_generics
        where
            #(#existing,)*
            #(#bounds,)*
        {
            fn serialize_row(
                &self,
                columns: &[#krate::protocol::response::ColumnSpec],
                out: &mut #krate::types::RowWriter,
            ) -> ::core::result::Result<(), #krate::types::SerializeError> {
                #typed
            }

            fn serialize_row_untyped(
                &self,
                out: &mut #krate::types::RowWriter,
            ) -> ::core::result::Result<(), #krate::types::SerializeError> {
                #untyped
            }

            fn is_empty(&self) -> bool {
                #is_empty
            }
        }
    })
}

/// `serialize_row` and `serialize_row_untyped` of a struct with named fields.
fn by_name(input: &Input<'_>) -> (TokenStream, TokenStream) {
    let krate = &input.attrs.krate;
    let used: Vec<_> = input.used().collect();
    let columns: Vec<_> = used.iter().map(|f| f.column.as_ref().expect("named fields have a column")).collect();
    let pushes = used.iter().map(|f| push(krate, f, &quote!(column)));
    let untyped_pushes = used.iter().zip(&columns).map(|(f, c)| push_untyped(krate, f, Some(c)));
    let unused = used.is_empty().then(|| quote!(let _ = out;));
    let typed = quote! {
        #unused
        for column in columns {
            match column.name.as_str() {
                #(#columns => #pushes?,)*
                _ => return ::core::result::Result::Err(#krate::types::SerializeError::missing_value(&column.name)),
            }
        }
        ::core::result::Result::Ok(())
    };
    (typed, untyped_body(untyped_pushes.collect()))
}

/// `serialize_row` and `serialize_row_untyped` of a tuple struct: field `i` (skipped
/// fields left out) binds marker `i`.
fn positional(input: &Input<'_>) -> (TokenStream, TokenStream) {
    let krate = &input.attrs.krate;
    let given = input.used().count();
    let pushes = input.used().enumerate().map(|(i, f)| push(krate, f, &quote!(&columns[#i])));
    let untyped_pushes = input.used().map(|f| push_untyped(krate, f, None));
    let unused = (given == 0).then(|| quote!(let _ = out;));
    let typed = quote! {
        #unused
        if columns.len() != #given {
            return ::core::result::Result::Err(#krate::types::SerializeError::ValueCount {
                expected: columns.len(),
                given: #given,
            });
        }
        #(#pushes?;)*
        ::core::result::Result::Ok(())
    };
    (typed, untyped_body(untyped_pushes.collect()))
}

/// `out.push(column, &self.field)`, spanned on the field's type: a type that cannot be
/// bound is reported there.
fn push(krate: &syn::Path, field: &crate::attrs::Field<'_>, column: &TokenStream) -> TokenStream {
    let ty = field.ty;
    let member = &field.member;
    let value = quote!(&self.#member);
    quote_spanned!(ty.span()=> #krate::types::RowWriter::push::<#ty>(out, #column, #value))
}

/// `out.push_named_untyped(name, &self.field)` (or `push_untyped` without a name),
/// spanned on the field's type.
fn push_untyped(krate: &syn::Path, field: &crate::attrs::Field<'_>, name: Option<&syn::LitStr>) -> TokenStream {
    let ty = field.ty;
    let member = &field.member;
    let value = quote!(&self.#member);
    match name {
        Some(name) => {
            quote_spanned!(ty.span()=> #krate::types::RowWriter::push_named_untyped::<#ty>(out, #name, #value))
        }
        None => quote_spanned!(ty.span()=> #krate::types::RowWriter::push_untyped::<#ty>(out, #value)),
    }
}

/// The body of `serialize_row_untyped`: every push in order (`out` is unused when there
/// are none).
fn untyped_body(pushes: Vec<TokenStream>) -> TokenStream {
    if pushes.is_empty() {
        quote! {
            let _ = out;
            ::core::result::Result::Ok(())
        }
    } else {
        quote! {
            #(#pushes?;)*
            ::core::result::Result::Ok(())
        }
    }
}
