use cqlstream::FromRow;

#[derive(FromRow)]
enum Status {
    Active,
    Gone,
}

fn main() {}
