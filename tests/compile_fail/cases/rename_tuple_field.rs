use cqlstream::FromRow;

#[derive(FromRow)]
struct Pair(#[cql(rename = "id")] i32, String);

fn main() {}
