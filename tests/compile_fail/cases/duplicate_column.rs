use cqlstream::FromRow;

#[derive(FromRow)]
struct User {
    id: i32,
    #[cql(rename = "id")]
    other_id: i64,
}

fn main() {}
