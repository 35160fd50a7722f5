"""Generates a realistic dataset into a MongoDB for argon's benchmarks:
several collections, nested documents, arrays, several indexes.

usage: gen_data.py URI TARGET_MB [SEED]
"""
import random
import sys
import datetime

import bson
from pymongo import MongoClient, ASCENDING, DESCENDING

uri, target_mb = sys.argv[1], float(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
db = MongoClient(uri).shop
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()
base = datetime.datetime(2026, 1, 1)


def text(n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def customer(i):
    return {"_id": i, "name": f"customer {i}", "email": f"c{i}@example.com",
            "address": {"street": text(3), "city": rng.choice(WORDS), "zip": f"{rng.randrange(99999):05}",
                        "geo": {"lat": rng.uniform(-90, 90), "lng": rng.uniform(-180, 180)}},
            "since": base + datetime.timedelta(minutes=i), "tags": rng.sample(WORDS, 3), "notes": text(40)}


def order(i):
    return {"_id": i, "customer": rng.randrange(1_000_000), "at": base + datetime.timedelta(seconds=i),
            "status": rng.choice(["new", "paid", "shipped", "returned"]),
            "lines": [{"sku": f"sku-{rng.randrange(5000)}", "qty": rng.randrange(1, 5), "price": round(rng.uniform(1, 300), 2)}
                      for _ in range(rng.randrange(1, 8))], "comment": text(20)}


def product(i):
    return {"_id": f"sku-{i}", "title": text(6), "description": text(120), "price": round(rng.uniform(1, 300), 2),
            "attributes": {w: rng.random() for w in rng.sample(WORDS, 6)}, "stock": rng.randrange(1000)}


def event(i):
    return {"ts": base + datetime.timedelta(milliseconds=i * 37), "kind": rng.choice(["view", "click", "cart", "buy"]),
            "session": bson.ObjectId(), "payload": {"path": "/" + "/".join(rng.sample(WORDS, 3)), "ms": rng.randrange(2000)}}


def review(i):
    return {"_id": i, "product": f"sku-{rng.randrange(5000)}", "stars": rng.randrange(1, 6), "body": text(80)}


# Indexes first: maintaining them while inserting is faster than building them after.
db.customers.create_index([("email", ASCENDING)], unique=True)
db.customers.create_index([("address.city", ASCENDING), ("since", DESCENDING)])
db.orders.create_index([("customer", ASCENDING), ("at", DESCENDING)])
db.orders.create_index([("status", ASCENDING)])
db.events.create_index([("ts", ASCENDING)])
db.reviews.create_index([("product", ASCENDING), ("stars", DESCENDING)])

makers = {"customers": customer, "orders": order, "products": product, "events": event, "reviews": review}
share = {"customers": 0.25, "orders": 0.3, "products": 0.1, "events": 0.2, "reviews": 0.15}
for name, make in makers.items():
    goal = target_mb * share[name] * 1024 * 1024
    size, i, batch = 0, 0, []
    while size < goal:
        doc = make(i)
        size += len(bson.encode(doc))
        batch.append(doc)
        i += 1
        if len(batch) == 2000:
            db[name].insert_many(batch, ordered=False)
            batch = []
    if batch:
        db[name].insert_many(batch, ordered=False)
print(f"generated {target_mb} MB in {len(makers)} collections")
