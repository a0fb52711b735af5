use cqlstream::FromRow;

struct Connection;

#[derive(FromRow)]
struct Cached {
    id: i32,
    #[cql(skip)]
    conn: Connection,
}

fn main() {}
