//! `#[derive(FromRow)]`: an implementation of `cqlstream::types::DeserializeRow`.
//!
//! Named fields are matched to columns by name. Neither method has anywhere to keep
//! the column positions between calls (`type_check` has no state, and the rows of a
//! page are decoded one at a time), so both walk the columns once and match each name
//! against the fields' names: a `match` on string literals, which for the handful of
//! fields a row type has costs a few length compares and `memcmp`s per column. Tuple
//! structs are read by position.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, GenericParam, Lifetime, LifetimeParam};

use crate::attrs::{self, Input};

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let parsed = attrs::parse(input, "FromRow")?;
    let krate = &parsed.attrs.krate;
    // The struct's lifetimes are the frame's, so a `&'a str` field borrows from the
    // page: one lifetime is used as the frame's (`impl<'a> DeserializeRow<'a> for
    // R<'a>`); several are made equal to a new one (`impl<'f: 'a + 'b, 'a: 'f, 'b: 'f>`,
    // which `redundant_lifetimes` would flag).
    let mut generics = input.generics.clone();
    let lifetimes: Vec<Lifetime> = input.generics.lifetimes().map(|l| l.lifetime.clone()).collect();
    let (frame, allow) = if let [only] = &lifetimes[..] {
        (only.clone(), None)
    } else {
        let frame = Lifetime::new("'__cql_frame", Span::call_site());
        for param in generics.lifetimes_mut() {
            param.bounds.push(frame.clone());
        }
        let mut frame_param = LifetimeParam::new(frame.clone());
        frame_param.bounds.extend(lifetimes.iter().cloned());
        generics.params.insert(0, GenericParam::Lifetime(frame_param));
        (frame, (lifetimes.len() > 1).then(|| quote!(#[allow(redundant_lifetimes)])))
    };
    let (impl_generics, _, _) = generics.split_for_impl();
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    let existing = where_clause.into_iter().flat_map(|w| &w.predicates);
    let bounds = parsed.used().filter(|f| attrs::mentions_type_param(f.ty, &input.generics)).map(|f| {
        let ty = f.ty;
        quote_spanned!(ty.span()=> #ty: #krate::types::DeserializeValue<#frame>)
    });

    let (type_check, deserialize) = if parsed.positional { positional(&parsed) } else { by_name(&parsed) };
    let name = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        #allow
        impl #impl_generics #krate::types::DeserializeRow<#frame> for #name #ty_generics
        where
            #(#existing,)*
            #(#bounds,)*
        {
            fn type_check(
                columns: &[#krate::protocol::response::ColumnSpec],
            ) -> ::core::result::Result<(), #krate::types::DeserializeError> {
                #type_check
            }

            fn deserialize(
                row: #krate::types::RowRef<#frame, '_>,
            ) -> ::core::result::Result<Self, #krate::types::DeserializeError> {
                #deserialize
            }
        }
    })
}

/// `type_check` and `deserialize` of a struct with named fields.
fn by_name(input: &Input<'_>) -> (TokenStream, TokenStream) {
    let krate = &input.attrs.krate;
    let used: Vec<_> = input.used().collect();
    let found: Vec<_> = (0..used.len()).map(|i| format_ident!("found_{}", i, span = Span::mixed_site())).collect();
    let values: Vec<_> = (0..used.len()).map(|i| format_ident!("field_{}", i, span = Span::mixed_site())).collect();
    let columns: Vec<_> = used.iter().map(|f| f.column.as_ref().expect("named fields have a column")).collect();
    let types: Vec<_> = used.iter().map(|f| f.ty).collect();
    let error = quote!(#krate::types::DeserializeError);
    // Spanned on the field's type: a type that cannot be read is reported there.
    let checks =
        types.iter().map(|ty| quote_spanned!(ty.span()=> #krate::types::type_check_column::<#ty>(index, column)));

    // type_check: one pass over the columns, checking each one a field reads. A missing
    // column is reported before an extra one: after a rename on the server side, "no
    // column `x`" says more than "unexpected column `y`".
    let extra = format_ident!("extra", span = Span::mixed_site());
    let (extra_init, extra_arm, extra_check) = if input.attrs.allow_extra_columns {
        (quote!(), quote!(_ => {}), quote!())
    } else {
        let expected = used.len();
        (
            quote!(let mut #extra: ::core::option::Option<usize> = ::core::option::Option::None;),
            quote!(_ => {
                if #extra.is_none() {
                    #extra = ::core::option::Option::Some(index);
                }
            }),
            quote! {
                if let ::core::option::Option::Some(index) = #extra {
                    return ::core::result::Result::Err(
                        #error::ColumnCount {
                            rust_type: ::core::any::type_name::<Self>(),
                            expected: #expected,
                            found: columns.len(),
                        }
                        .in_column(index, &columns[index].name),
                    );
                }
            },
        )
    };
    let type_check = if used.is_empty() && input.attrs.allow_extra_columns {
        quote! {
            let _ = columns;
            ::core::result::Result::Ok(())
        }
    } else {
        quote! {
            #(let mut #found = false;)*
            #extra_init
            for (index, column) in columns.iter().enumerate() {
                match column.name.as_str() {
                    #(#columns => {
                        #checks?;
                        #found = true;
                    })*
                    #extra_arm
                }
            }
            #(if !#found {
                return ::core::result::Result::Err(#error::no_such_column(#columns));
            })*
            #extra_check
            ::core::result::Result::Ok(())
        }
    };

    // deserialize: one pass over the cells; a column named twice is read twice and the
    // last one wins (`type_check` checked both).
    let reads = types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> #krate::types::deserialize_column::<#ty>(index, column, cell)));
    let walk = if used.is_empty() {
        quote!(let _ = row;)
    } else {
        quote! {
            #(let mut #values: ::core::option::Option<#types> = ::core::option::Option::None;)*
            for (index, (column, cell)) in row.iter().enumerate() {
                match column.name.as_str() {
                    #(#columns => {
                        #values = ::core::option::Option::Some(#reads?);
                    })*
                    _ => {}
                }
            }
        }
    };
    let mut next = values.iter().zip(&columns);
    let inits = input.fields.iter().map(|f| {
        let member = &f.member;
        if f.skip {
            skipped(f)
        } else {
            let (value, column) = next.next().expect("one value per used field");
            quote! {
                #member: match #value {
                    ::core::option::Option::Some(v) => v,
                    ::core::option::Option::None => return ::core::result::Result::Err(#error::no_such_column(#column)),
                }
            }
        }
    });
    let deserialize = quote! {
        #walk
        ::core::result::Result::Ok(Self { #(#inits,)* })
    };
    (type_check, deserialize)
}

/// `type_check` and `deserialize` of a tuple struct: field `i` (skipped fields left
/// out) reads column `i`.
fn positional(input: &Input<'_>) -> (TokenStream, TokenStream) {
    let krate = &input.attrs.krate;
    let error = quote!(#krate::types::DeserializeError);
    let types: Vec<_> = input.used().map(|f| f.ty).collect();
    let expected = types.len();
    // Spanned on the field's type: a type that cannot be read is reported there.
    let checks = types
        .iter()
        .enumerate()
        .map(|(i, ty)| quote_spanned!(ty.span()=> #krate::types::type_check_column::<#ty>(#i, &columns[#i])));
    let count_ok = if input.attrs.allow_extra_columns {
        quote!(columns.len() >= #expected)
    } else {
        quote!(columns.len() == #expected)
    };
    let type_check = quote! {
        if !(#count_ok) {
            return ::core::result::Result::Err(#error::ColumnCount {
                rust_type: ::core::any::type_name::<Self>(),
                expected: #expected,
                found: columns.len(),
            });
        }
        #(#checks?;)*
        ::core::result::Result::Ok(())
    };

    let cells = format_ident!("cells", span = Span::mixed_site());
    let mut index = 0usize;
    let inits = input.fields.iter().map(|f| {
        let member = &f.member;
        if f.skip {
            return skipped(f);
        }
        let ty = f.ty;
        let i = index;
        index += 1;
        let read = quote_spanned!(ty.span()=> #krate::types::deserialize_column::<#ty>(#i, column, cell));
        quote! {
            #member: match #cells.next() {
                ::core::option::Option::Some((column, cell)) => #read?,
                ::core::option::Option::None => {
                    return ::core::result::Result::Err(#error::ColumnCount {
                        rust_type: ::core::any::type_name::<Self>(),
                        expected: #expected,
                        found: row.len(),
                    });
                }
            }
        }
    });
    let inits: Vec<_> = inits.collect();
    let deserialize = if expected == 0 {
        quote! {
            let _ = row;
            ::core::result::Result::Ok(Self { #(#inits,)* })
        }
    } else {
        quote! {
            let mut #cells = row.iter();
            ::core::result::Result::Ok(Self { #(#inits,)* })
        }
    };
    (type_check, deserialize)
}

/// A skipped field's initialiser, spanned on its type: a type without `Default` is
/// reported there.
fn skipped(field: &crate::attrs::Field<'_>) -> TokenStream {
    let member = &field.member;
    let ty = field.ty;
    let default = quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default());
    quote!(#member: #default)
}
