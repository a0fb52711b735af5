use cqlstream::SerializeRow;

#[derive(SerializeRow)]
union Bits {
    int: i32,
    float: f32,
}

fn main() {}
