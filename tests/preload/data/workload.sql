-- A sqlite3 workload for the preload test: a table of 50000 generated rows, an index, updates,
-- deletes, a join, aggregates. Deterministic, so the output is the same under any allocator.
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, price REAL, note TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000)
INSERT INTO items SELECT x, printf('item-%06d', x * 7919 % 50000), x % 97, (x * 37 % 1000) / 10.0,
                         substr(hex(x * x * 2654435761), 1, 1 + x % 24) FROM n;
CREATE INDEX items_grp ON items(grp, price);
CREATE TABLE groups(grp INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < 96)
INSERT INTO groups SELECT x, 'group ' || x FROM g;
UPDATE items SET price = price * 2 WHERE grp % 5 = 0;
DELETE FROM items WHERE id % 11 = 0;
SELECT count(*), sum(price), min(name), max(name), total(length(note)) FROM items;
SELECT g.label, count(*), round(avg(i.price), 3), max(i.note) FROM items i JOIN groups g USING (grp)
  GROUP BY grp ORDER BY count(*) DESC, grp LIMIT 15;
SELECT name, price FROM items WHERE grp = 42 AND price BETWEEN 10 AND 60 ORDER BY price, name LIMIT 20;
SELECT grp, group_concat(id, ',') FROM (SELECT grp, id FROM items WHERE id < 400 ORDER BY id) GROUP BY grp LIMIT 10;
SELECT count(DISTINCT note), count(DISTINCT substr(name, 1, 8)) FROM items;
PRAGMA integrity_check;
