use cqlstream::{FromRow, SerializeRow};

struct Money(i64);

#[derive(FromRow)]
struct Account {
    id: i32,
    balance: Money,
}

#[derive(SerializeRow)]
struct Deposit {
    id: i32,
    amount: Money,
}

fn main() {}
