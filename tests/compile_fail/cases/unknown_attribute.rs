use cqlstream::{FromRow, SerializeRow};

#[derive(FromRow)]
#[cql(allow_extra_column)]
struct Struct {
    id: i32,
}

#[derive(SerializeRow)]
struct Field {
    #[cql(renamed = "key")]
    id: i32,
}

fn main() {}
